defmodule FlameBench.Timeline do
  @moduledoc """
  bench/flame/timeline's parent and runner code: where the time of one cold
  `FLAME.call` goes, from every side, for each backend of bench/flame.

  The parent traces (Erlang call tracing, timestamps from its monotonic clock turned
  into wall-clock microseconds) the backend's own steps (`Flamed.Client.connect/2`,
  `boot/3`, `watch/5`, `Flamed.Remote.await_up/3`, FLAMEDockerBackend's Docker API
  calls), `FLAME.Runner.remote_boot` and the call itself, and the runner node's
  `nodeup`. Every runner (all backends: the same command) starts through `runner/0`,
  which notes when the `-e` code began, traces the connection back (DNS, epmd,
  `net_kernel:connect_node/1`) and notes when the app is started. After the call the
  parent fetches the runner's points (`probe/0`): the VM's start, those notes, the
  container's PID 1 start (`/proc/1/stat`) and, for a warm runner with the tracing
  flamed-init, `/.flamed/run/trace` (frame read, record written, execve).
  All containers share the host's clock, so the points line up.

  Prints `TL arm round event wall_us [detail]` lines and `TIMELINE DONE`.
  """

  def main do
    FlameBench.each_round("5", "warmpool docker flamed", &round/2)
    IO.puts("TIMELINE DONE")
    System.halt(0)
  catch
    kind, reason ->
      IO.puts("TIMELINE FAIL: #{Exception.format(kind, reason, __STACKTRACE__)}")
      System.halt(1)
  end

  # microseconds of wall clock for a monotonic timestamp of this node
  defp wall(mono_native),
    do: :erlang.convert_time_unit(mono_native + :erlang.time_offset(), :native, :microsecond)

  defp now_us, do: :os.system_time(:microsecond)

  @parent_mfas [
    {Flamed.Client, :connect, 2},
    {Flamed.Client, :boot, 3},
    {Flamed.Client, :watch, 5},
    {Flamed.Remote, :await_up, 3},
    {FLAMEDockerBackend.DockerAPI, :init, 1},
    {FLAMEDockerBackend.DockerAPI, :version, 0},
    {FLAMEDockerBackend.DockerAPI, :image_exists?, 1},
    {FLAMEDockerBackend.DockerAPI, :create_container, 1},
    {FLAMEDockerBackend.DockerAPI, :start_container, 1},
    {FLAMEDockerBackend, :remote_boot, 1},
    {Flamed.Backend, :remote_boot, 1},
    {FLAME.Runner, :remote_boot, 3}
  ]

  defp round(arm, i) do
    name = :"timeline_#{arm}_#{i}"
    backend = FlameBench.backend_for(arm, i, &runner_cmd/1)

    {:ok, sup} =
      Supervisor.start_link(
        [
          {FLAME.Pool,
           name: name,
           min: 0,
           max: 1,
           max_concurrency: 1,
           idle_shutdown_after: 600_000,
           boot_timeout: 60_000,
           backend: backend}
        ],
        strategy: :one_for_one
      )

    for pool <- String.split(System.fetch_env!("FLTEST_WARM_POOLS")),
        do: FlameBench.await_warm_ready(60_000, pool)

    flush_nodeups()
    tracer = start_tracer()
    t0 = now_us()
    runner = FLAME.call(name, fn -> node() end, timeout: 90_000)
    t1 = now_us()
    events = stop_tracer(tracer)
    nodeup = receive_nodeup(runner)
    probe = :erpc.call(runner, __MODULE__, :probe, [], 10_000)

    emit = fn ev, us, detail -> IO.puts("TL #{arm} #{i} #{ev} #{us} #{detail}") end
    emit.(:call_start, t0, "")
    emit.(:call_done, t1, "")
    if nodeup, do: emit.(:parent_nodeup, nodeup, "")
    Enum.each(events, fn {ev, us, detail} -> emit.(ev, us, detail) end)
    Enum.each(probe, fn {ev, us, detail} -> emit.(ev, us, detail) end)

    Node.monitor(runner, true)
    Supervisor.stop(sup)

    receive do
      {:nodedown, ^runner} -> :ok
    after
      30_000 -> raise "runner #{runner} of #{arm} did not stop"
    end

    flush_nodeups()
    Process.sleep(1_500)
  end

  defp flush_nodeups do
    receive do
      {:nodeup_at, _, _} -> flush_nodeups()
    after
      0 -> :ok
    end
  end

  defp receive_nodeup(runner) do
    receive do
      {:nodeup_at, ^runner, us} -> us
    after
      0 -> nil
    end
  end

  # A tracer process collecting call/return events with wall-clock times; it also
  # turns the parent's nodeup into a timed message.
  defp start_tracer do
    me = self()
    tracer = spawn_link(fn -> tracer_loop(me, []) end)

    for {m, _, _} <- @parent_mfas, do: Code.ensure_loaded(m)

    for mfa <- @parent_mfas,
        do: :erlang.trace_pattern(mfa, [{:_, [], [{:return_trace}]}], [:local])

    :erlang.trace(:all, true, [:call, :monotonic_timestamp, {:tracer, tracer}])
    send(tracer, :monitor_nodes)
    tracer
  end

  defp stop_tracer(tracer) do
    :erlang.trace(:all, false, [:call])
    for mfa <- @parent_mfas, do: :erlang.trace_pattern(mfa, false, [:local])
    send(tracer, {:stop, self()})

    receive do
      {:trace_events, ev} -> ev
    end
  end

  defp tracer_loop(parent, acc) do
    receive do
      :monitor_nodes ->
        :ok = :net_kernel.monitor_nodes(true)
        tracer_loop(parent, acc)

      {:nodeup, node} ->
        send(parent, {:nodeup_at, node, :os.system_time(:microsecond)})
        tracer_loop(parent, acc)

      {:trace_ts, _pid, :call, {m, f, args}, ts} ->
        tracer_loop(parent, [{"call:#{inspect(m)}.#{f}/#{length(args)}", wall(ts), ""} | acc])

      {:trace_ts, _pid, :return_from, {m, f, a}, ret, ts} ->
        detail =
          case ret do
            {:ok, %{id: id, warm: warm}} -> "runner_id=#{id} warm=#{warm}"
            {:ok, %{id: id}} -> "runner_id=#{id}"
            _ -> ""
          end

        tracer_loop(parent, [{"ret:#{inspect(m)}.#{f}/#{a}", wall(ts), detail} | acc])

      {:stop, from} ->
        send(from, {:trace_events, Enum.reverse(acc)})

      _ ->
        tracer_loop(parent, acc)
    end
  end

  @doc "The runners' command here: the same for every backend."
  def runner_cmd(extra) do
    [
      "sh",
      "-c",
      "exec elixir #{extra} --no-halt -pa '/app/lib/*/ebin' -e 'FlameBench.Timeline.runner()'"
    ]
  end

  @runner_mfas [
    {:net_kernel, :connect_node, 1},
    {:inet_tcp_dist, :setup, 5},
    {:erl_epmd, :address_please, 3},
    {:erl_epmd, :port_please, 3},
    {:inet, :getaddr, 2},
    {:inet_tcp_dist, :do_setup, 7},
    {FLAME.Terminator, :init, 1},
    {:application_controller, :start_application, 2}
  ]

  @doc """
  The runner's start (its `-e`): note the time, trace the connection back, start
  the app as bench/flame's runners do, note the time.
  """
  def runner do
    e_start = :os.system_time(:microsecond)
    :persistent_term.put(__MODULE__, [{:runner_e_start, e_start, ""}])
    col = spawn(fn -> runner_collector([]) end)
    :erlang.register(:flame_bench_timeline, col)
    for {m, _, _} <- @runner_mfas, do: Code.ensure_loaded(m)

    for mfa <- @runner_mfas,
        do: :erlang.trace_pattern(mfa, [{:_, [], [{:return_trace}]}], [:local])

    :erlang.trace(:all, true, [:call, :monotonic_timestamp, {:tracer, col}])
    traced = :os.system_time(:microsecond)
    {:ok, _} = Application.ensure_all_started(:flame_bench)
    started = :os.system_time(:microsecond)

    :persistent_term.put(__MODULE__, [
      {:runner_e_start, e_start, ""},
      {:runner_traced, traced, ""},
      {:runner_app_started, started, ""}
    ])

    :ok
  end

  defp runner_collector(acc) do
    receive do
      {:trace_ts, _pid, :call, {:application_controller, :start_application, [app | _]}, ts} ->
        Process.put(:app, app)
        runner_collector([{"runner_app_start:#{app}", wall(ts), ""} | acc])

      {:trace_ts, _pid, :return_from, {:application_controller, :start_application, _}, _ret, ts} ->
        runner_collector([{"runner_app_up:#{Process.get(:app)}", wall(ts), ""} | acc])

      {:trace_ts, _pid, :call, {m, f, args}, ts} ->
        runner_collector([{"runner_call:#{m}.#{f}/#{length(args)}", wall(ts), ""} | acc])

      {:trace_ts, _pid, :return_from, {m, f, a}, ret, ts} ->
        d = if is_boolean(ret) or is_atom(ret), do: inspect(ret), else: ""
        runner_collector([{"runner_ret:#{m}.#{f}/#{a}", wall(ts), d} | acc])

      {:get, from} ->
        :erlang.trace(:all, false, [:call])
        send(from, {:events, Enum.reverse(acc)})

      _ ->
        runner_collector(acc)
    end
  end

  @doc "The runner's points (called on the runner after the call)."
  def probe do
    vm = wall(:erlang.system_info(:start_time))
    send(:flame_bench_timeline, {:get, self()})

    traced =
      receive do
        {:events, ev} -> ev
      after
        2_000 -> []
      end

    init =
      case File.read("/.flamed/run/trace") do
        {:ok, text} ->
          for line <- String.split(text, "\n", trim: true) do
            [ev, ns] = String.split(line)
            {"init_" <> ev, div(String.to_integer(ns), 1000), ""}
          end

        _ ->
          []
      end

    [{:runner_vm_start, vm, ""}] ++
      :persistent_term.get(__MODULE__, []) ++ traced ++ init
  end
end

