# tests/glue_check.exs - with plain `elixir`, no hex: compile the generated stubs and the
# glue (Flamed.Client, Flamed.Backend) against tests/support/standins.ex and fail on
# any warning: an undefined function, a wrong arity, a stub function that the
# service's rpcs do not generate, an @impl that FLAME.Backend does not declare. Then
# check that the plain maps Flamed.Request builds fit the generated messages' fields
# (struct!/2 refuses unknown keys, as Flamed.Client uses it).
#
#   cd bindings/elixir && elixir tests/glue_check.exs
#
# This proves consistency with the stubs and with the APIs as the stand-ins model
# them (from FLAME 0.5, grpc 0.9, protobuf 0.12 sources); `mix compile
# --warnings-as-errors` with the real deps remains the check of the libraries themselves.

root = Path.expand("..", __DIR__)

compile = fn files ->
  case Kernel.ParallelCompiler.compile(files) do
    {:ok, _mods, warnings} ->
      warnings

    {:error, errors, _warnings} ->
      for {file, line, msg} <- errors, do: IO.puts(:stderr, "#{file}:#{inspect(line)}: #{msg}")
      System.halt(1)
  end
end

[] = compile.([Path.join(root, "tests/support/standins.ex")])

warnings =
  compile.(
    Path.wildcard(Path.join(root, "lib/**/*.pb.ex")) ++
      Path.wildcard(Path.join(root, "lib/flamed/*.ex"))
  )

if warnings != [] do
  for {file, line, msg} <- warnings,
      do:
        IO.puts(
          :stderr,
          "#{Path.relative_to(file, root)}:#{inspect(line)}: warning: #{IO.chardata_to_string(msg)}"
        )

  IO.puts(
    :stderr,
    "glue_check: #{length(warnings)} warning(s) compiling lib/ against the stand-ins"
  )

  System.halt(1)
end

ExUnit.start(autorun: false)

defmodule Flamed.GlueCheckTest do
  use ExUnit.Case, async: true
  alias Flamed.{Config, Request}

  @config Config.new!(
            [image: "app:latest", network: "appnet"],
            host_config: %{
              "Memory" => 536_870_912,
              "Ulimits" => [%{"Name" => "nofile", "Soft" => 1024}]
            },
            mounts: [%{"Type" => "volume", "Source" => "cache", "Target" => "/cache"}],
            env: %{"A" => "1"},
            labels: %{"team" => "x"},
            cmd: ["bin/app", "start"],
            user: "1000",
            working_dir: "/app"
          )

  test "a boot request has only BootRequest fields and every one of them" do
    req = Request.boot(@config, %{"FLAME_PARENT" => "x"}, node_base: "flame-1", parent_node: :p@h)
    fields = for {name, _, _} <- Flame.V1.BootRequest.__standin_fields__(), do: name
    assert Enum.sort(Map.keys(req)) == Enum.sort(fields)
    assert %{__struct__: Flame.V1.BootRequest} = struct!(Flame.V1.BootRequest, req)
  end

  test "struct values fit Google.Protobuf.Struct, Value and ListValue" do
    %{host_config: %{fields: fields}} = Request.boot(@config, %{}, node_base: "flame-1")
    {:list_value, %{values: [{:struct_value, %{fields: ulimit}}]}} = fields["Ulimits"]
    assert ulimit["Soft"] == {:number_value, 1024.0}
    assert struct!(Google.Protobuf.Struct, fields: %{})
    assert struct!(Google.Protobuf.ListValue, values: [])

    assert %{kind: {:number_value, 1.0}} =
             struct!(Google.Protobuf.Value, kind: {:number_value, 1.0})
  end

  test "shutdown and watch requests fit their messages" do
    assert struct!(Flame.V1.ShutdownRequest, Request.shutdown("abc", 5000))
    assert struct!(Flame.V1.WatchRequest, Request.watch("abc", "p@h"))
    assert struct!(Flame.V1.RenewRequest, parent_id: "p@h")
    assert struct!(Flame.V1.ListRequest, pool: "")
  end

  test "a logs request has every LogsRequest field and fits the message" do
    req = Request.logs("abc", follow: true, tail: 5, since: 1, timestamps: true)
    fields = for {name, _, _} <- Flame.V1.LogsRequest.__standin_fields__(), do: name
    assert Enum.sort(Map.keys(req)) == Enum.sort(fields)
    assert %{__struct__: Flame.V1.LogsRequest} = struct!(Flame.V1.LogsRequest, req)
  end

  test "Flamed.Client.logs/3 and logs/5 exist" do
    assert function_exported?(Flamed.Client, :logs, 3)
    assert function_exported?(Flamed.Client, :logs, 5)
  end

  test "the event types and states Request.event/1 knows are the proto's enum values" do
    types = for {name, num} <- Flame.V1.RunnerEventType.__standin_values__(), num != 0, do: name
    states = for {name, num} <- Flame.V1.RunnerState.__standin_values__(), num != 0, do: name

    for t <- types do
      ev = Request.event(%{type: t, runner: %{state: hd(states)}})
      refute ev.type == :unspecified, "#{t} is not known to Request.event/1"
    end

    for s <- states do
      ev = Request.event(%{type: :RUNNER_EVENT_TYPE_EXISTING, runner: %{state: s}})
      refute ev.state == :unspecified, "#{s} is not known to Request.event/1"
    end
  end

  test "the pull policies Config accepts are the proto's" do
    values = for {name, _} <- Flame.V1.PullPolicy.__standin_values__(), do: name

    for p <- [:if_not_present, :always, :never] do
      config = %{@config | pull_policy: p}
      assert Request.boot(config, %{}, node_base: "f").pull_policy in values
    end
  end

  test "the stub has one function per rpc, as Flamed.Client calls them" do
    for {fun, arity} <- [
          boot: 3,
          spawn: 3,
          shutdown: 3,
          watch: 3,
          list: 3,
          renew: 3,
          watch: 2,
          logs: 3
        ] do
      assert function_exported?(Flame.V1.RunnerService.Stub, fun, arity), "#{fun}/#{arity}"
    end
  end

  test "Flamed.Client.target/1 gives GRPC.Stub.connect/2 a socket path or host:port" do
    assert Flamed.Client.target("unix:/run/flamed/flamed.sock") == "/run/flamed/flamed.sock"
    assert Flamed.Client.target("unix:///run/flamed/flamed.sock") == "/run/flamed/flamed.sock"
    assert Flamed.Client.target("/tmp/f.sock") == "/tmp/f.sock"
    assert Flamed.Client.target("10.0.0.2:7070") == "10.0.0.2:7070"
  end

  test "Flamed.Backend.init/1 builds a FLAME_PARENT that decodes to FLAME.Parent's keys" do
    Application.put_env(:flame, Flamed.Backend, image: "app:latest", network: "appnet")

    # init/1 needs a distributed node for the environment.
    if Node.alive?() do
      {:ok, state} = Flamed.Backend.init(pool: "p1")
      parent = state.env["FLAME_PARENT"] |> Base.decode64!() |> :erlang.binary_to_term()
      assert %{pid: pid, ref: ref, backend: Flamed.Backend, host_env: "HOSTNAME"} = parent
      assert pid == self() and ref == state.parent_ref
      assert parent.node_base == state.node_base
    else
      assert_raise ArgumentError, ~r/not distributed/, fn -> Flamed.Backend.init(pool: "p1") end
    end
  end
end

%{failures: failures} = ExUnit.run()
System.halt(if failures == 0, do: 0, else: 1)
