defmodule Flamed.RemoteTest do
  use ExUnit.Case, async: true
  alias Flamed.{NodeBase, Remote}

  describe "NodeBase" do
    test "new/0 makes flame- and 20 hex digits, fresh each time" do
      a = NodeBase.new()
      assert a =~ ~r/^flame-[0-9a-f]{20}$/
      refute a == NodeBase.new()
      assert NodeBase.valid?(a)
    end

    test "new/1 takes a prefix and refuses one that cannot name a node" do
      assert NodeBase.new("app") =~ ~r/^app-[0-9a-f]{20}$/
      assert_raise ArgumentError, fn -> NodeBase.new("a@b") end
    end

    test "valid?/1" do
      assert NodeBase.valid?("flame-1_x")
      refute NodeBase.valid?("")
      refute NodeBase.valid?("a.b")
      refute NodeBase.valid?("a@b")
      refute NodeBase.valid?(String.duplicate("a", 201))
      refute NodeBase.valid?(:flame)
    end
  end

  describe "await_up/3" do
    test "returns the terminator pid FLAME's Terminator reports" do
      ref = make_ref()
      pid = spawn(fn -> :ok end)
      send(self(), {make_ref(), {:remote_up, self()}})
      send(self(), {ref, {:remote_up, pid}})
      assert Remote.await_up(ref, 1000) == {:ok, pid}
    end

    test "times out" do
      assert Remote.await_up(make_ref(), 10) == {:error, :timeout}
    end

    test "ends early when the watch says the runner ended, and leaves other events queued" do
      ref = make_ref()
      wref = make_ref()
      send(self(), {:flamed_event, wref, %{type: :started, ended?: false}})
      send(self(), {:flamed_event, make_ref(), %{type: :exited, ended?: true}})
      ended = %{type: :exited, exit_code: 1, ended?: true}
      send(self(), {:flamed_event, wref, ended})
      assert Remote.await_up(ref, 1000, wref) == {:error, {:runner_ended, ended}}
      assert_received {:flamed_event, ^wref, %{type: :started}}
    end

    test "without a watch ref, events do not end the wait" do
      send(self(), {:flamed_event, nil, %{ended?: true}})
      assert Remote.await_up(make_ref(), 10, nil) == {:error, :timeout}
    end
  end

  describe "spawn_monitor/2" do
    test "runs a function and monitors it" do
      me = self()
      {:ok, {pid, ref}} = Remote.spawn_monitor(node(), fn -> send(me, {:ran, node()}) end)
      assert_receive {:ran, n} when n == node()
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    end

    test "runs an MFA" do
      {:ok, {pid, ref}} = Remote.spawn_monitor(node(), {Kernel, :send, [self(), :mfa]})
      assert_receive :mfa
      assert_receive {:DOWN, ^ref, :process, ^pid, :normal}
    end

    test "a node that cannot be reached gives a DOWN with :noconnection" do
      ExUnit.CaptureLog.capture_log(fn ->
        {:ok, {_pid, ref}} = Remote.spawn_monitor(:"nobody@nowhere-flamed-test", fn -> :ok end)
        assert_receive {:DOWN, ^ref, :process, _, :noconnection}, 5000
      end)
    end

    test "anything else is refused" do
      assert_raise ArgumentError, ~r/zero-arity function or \{mod, fun, args\}/, fn ->
        Remote.spawn_monitor(node(), fn _ -> :ok end)
      end

      assert_raise ArgumentError, fn -> Remote.spawn_monitor(node(), {Kernel, :send}) end
    end
  end
end
