# The runner side of the BEAM wiring test: what FLAME's Terminator does on a runner
# (lib/flame/terminator.ex in FLAME v0.5), in a script so the test needs no deps.
#
# Started by flamed in a flamed-test/beam container as `elixir -pa /opt/fltest/ebin runner.exs`, with the
# environment Flamed.Env built (FLAME_PARENT, ERL_AFLAGS "-sname NODE_BASE -setcookie
# C", RELEASE_COOKIE, ...). It decodes FLAME_PARENT, checks that its node is
# node_base@$HOSTNAME (ERL_AFLAGS named it; HOSTNAME is the container's name), connects
# to the parent node by name (Docker DNS on the test network), monitors the parent,
# sends {ref, {:remote_up, self()}} and then serves like the Terminator: a
# GenServer.call(:system_shutdown) or the parent going away makes it call the
# parent's backend's system_shutdown/0, Flamed.Backend.system_shutdown/0, here.
# Its modules (Flamed.Backend, whose system_shutdown/0 the Terminator calls, and
# tests/beam_wiring/support.ex) are compiled by the run script into /opt/fltest/ebin (-pa /opt/fltest/ebin),
# as a release would hold them.

defmodule FlamedWiring.Terminator do
  @failsafe_ms 20_000

  def main do
    %{pid: parent, ref: ref, backend: backend, node_base: node_base, host_env: host_env} =
      "FLAME_PARENT" |> System.fetch_env!() |> Base.decode64!() |> :erlang.binary_to_term()

    want = :"#{node_base}@#{System.fetch_env!(host_env)}"

    # ERL_AFLAGS names the node; without it, name it as FLAME runners started by
    # hand do (Livebook's: node_base@$host_env).
    unless Node.alive?() do
      {:ok, _} = Node.start(want, :shortnames)
      Node.set_cookie(String.to_atom(System.fetch_env!("RELEASE_COOKIE")))
    end

    if node() != want, do: fail("node is #{node()}, FLAME_PARENT says #{want}")
    log("up as #{node()}, connecting to #{node(parent)}")
    connect(node(parent), System.monotonic_time(:millisecond) + @failsafe_ms)
    mref = Process.monitor(parent)
    send(parent, {ref, {:remote_up, self()}})
    log("sent remote_up to #{inspect(parent)}")
    loop(mref, backend)
  end

  defp connect(parent_node, deadline) do
    cond do
      Node.connect(parent_node) == true ->
        :ok

      System.monotonic_time(:millisecond) > deadline ->
        fail("failsafe: no connection to #{parent_node} within #{@failsafe_ms} ms")

      true ->
        Process.sleep(100)
        connect(parent_node, deadline)
    end
  end

  defp loop(mref, backend) do
    receive do
      {:"$gen_call", from, :system_shutdown} ->
        GenServer.reply(from, :ok)
        log("system_shutdown from the parent: #{inspect(backend)}.system_shutdown()")
        backend.system_shutdown()
        loop(mref, backend)

      {:DOWN, ^mref, :process, _pid, reason} ->
        log("parent went away (#{inspect(reason)}): #{inspect(backend)}.system_shutdown()")
        backend.system_shutdown()
        loop(mref, backend)
    end
  end

  defp log(msg), do: IO.puts("[runner #{node()}] #{msg}")

  defp fail(msg) do
    IO.puts(:stderr, "[runner] FAIL: #{msg}")
    System.halt(3)
  end
end

FlamedWiring.Terminator.main()
