defmodule FlameE2E do
  @moduledoc """
  The parent of the end-to-end test: real FLAME 0.5.3 pools with `Flamed.Backend`,
  driven by tests/flame_e2e/run. `main/0` runs the scenarios and halts 0 only when
  every check passed, printing `E2E ok: ...` per check and `E2E FAIL: ...` for the
  first failure; `kill_main/0` boots runners, prints `E2E READY` and waits to be
  killed. Configuration comes from the environment the test sets (FLTEST_*).
  """

  require Logger

  @addr "unix:/run/flamed/flamed.sock"

  # Every scenario of main/0, in order; FLTEST_SCENARIOS (comma-separated names)
  # runs only those, e.g. "basic" with flamed --engine swarm, where warm runners are
  # UNIMPLEMENTED and pull_policy :never is refused.
  @scenarios [
    basic: &__MODULE__.basic/0,
    warm: &__MODULE__.warm/0,
    logs: &__MODULE__.logs/0,
    spread: &__MODULE__.spread/0,
    missing_image: &__MODULE__.boot_failure_missing_image/0,
    exits_at_once: &__MODULE__.boot_failure_exits_at_once/0,
    never_connects_back: &__MODULE__.never_connects_back/0
  ]

  def main do
    capture_logs()

    for {name, run} <- scenarios() do
      IO.puts("E2E SCENARIO #{name}")
      run.()
    end

    no_lingering_connections()

    IO.puts("E2E ALL OK")
    System.halt(0)
  catch
    kind, reason ->
      IO.puts("E2E FAIL: #{Exception.format(kind, reason, __STACKTRACE__)}")
      System.halt(1)
  end

  # FLAME.call returns the runner's node; cast and place_child run there; the pool's
  # log: reaches the backend; idle shutdown ends the runner.
  @doc false
  def basic do
    {:ok, _} =
      start_pool(
        name: E2E.Basic,
        min: 0,
        max: 1,
        max_concurrency: 10,
        idle_shutdown_after: 2_000,
        boot_timeout: 60_000,
        backend: {Flamed.Backend, Keyword.put(backend_opts("basic"), :backend_log, :info)}
      )

    {us, runner} = :timer.tc(fn -> FLAME.call(E2E.Basic, fn -> node() end, timeout: 60_000) end)
    check(runner != node(), "FLAME.call ran on another node: #{runner}")
    [base, host] = runner |> Atom.to_string() |> String.split("@")
    check(String.starts_with?(base, "flame-"), "runner node base #{base} is Flamed's")
    {:ok, ch} = Flamed.Client.connect(@addr)
    {:ok, runners} = Flamed.Client.list(ch, pool("basic"))
    names = Enum.map(runners, & &1.name)
    check(host in names, "runner host #{host} is the container flamed booted (#{inspect(names)})")
    IO.puts("E2E RUNNER basic #{host} #{div(us, 1000)} ms")
    Flamed.Client.disconnect(ch)

    me = self()
    :ok = FLAME.cast(E2E.Basic, fn -> send(me, {:cast_ran, node()}) end)

    receive do
      {:cast_ran, n} -> check(n == runner, "FLAME.cast ran on the runner")
    after
      15_000 -> check(false, "FLAME.cast's function ran within 15 s")
    end

    {:ok, agent} = FLAME.place_child(E2E.Basic, {Agent, fn -> 42 end})
    check(node(agent) == runner, "FLAME.place_child placed the child on the runner")
    check(Agent.get(agent, & &1) == 42, "the placed child answers")
    Agent.stop(agent)

    check(
      logged?(~r/Flamed\.Backend: runner .* is up as #{Regex.escape(Atom.to_string(runner))}/),
      "the backend's backend_log: :info takes effect (FLAME.Pool overwrites :log)"
    )

    # idle shutdown: FLAME's Terminator stops the runner 2 s after its last work
    Node.monitor(runner, true)

    receive do
      {:nodedown, ^runner} -> check(true, "idle shutdown stopped the runner")
    after
      20_000 -> check(false, "idle shutdown stopped the runner within 20 s")
    end

    # the backend's gRPC connection (and its Watch) close with the runner
    check(
      wait_until(3_000, fn -> gun_connections() == [] end),
      "the backend's gRPC connection closed within 3 s of the runner's end " <>
        "(left: #{inspect(gun_connections())})"
    )

    {:ok, ch} = Flamed.Client.connect(@addr)

    check(
      wait_until(15_000, fn -> Flamed.Client.list(ch, pool("basic")) == {:ok, []} end),
      "flamed removed the idle runner"
    )

    Flamed.Client.disconnect(ch)
  end

  # A warm runner connects back: the run script starts flamed with a --pools file whose
  # spec for pool("warm") is what Flamed.Backend sends for backend_opts("warm") (image,
  # network, cmd; the rest of a Boot, env included, is per Boot). The first FLAME.call
  # is answered by a runner flamed made ahead (Runner.warm), whose node is
  # node_base@<the listed name>; its idle shutdown ends it as a cold one's does.
  @doc false
  def warm do
    {:ok, ch} = Flamed.Client.connect(@addr)

    # the pool is filled once flamed has made its runner (hidden from List until taken)
    check(
      wait_until(60_000, fn -> flamed_log_has?("warm_runner_ready") end),
      "flamed made the warm runner of #{pool("warm")}"
    )

    {:ok, _} =
      start_pool(
        name: E2E.Warm,
        min: 0,
        max: 1,
        max_concurrency: 10,
        idle_shutdown_after: 2_000,
        boot_timeout: 60_000,
        backend: {Flamed.Backend, Keyword.put(backend_opts("warm"), :backend_log, :info)}
      )

    {us, runner} = :timer.tc(fn -> FLAME.call(E2E.Warm, fn -> node() end, timeout: 60_000) end)
    check(runner != node(), "FLAME.call through the warm pool ran on another node: #{runner}")
    [base, host] = runner |> Atom.to_string() |> String.split("@")
    check(String.starts_with?(base, "flame-"), "warm runner node base #{base} is Flamed's")
    {:ok, runners} = Flamed.Client.list(ch, pool("warm"))
    listed = Enum.find(runners, &(&1.name == host))
    check(listed != nil, "warm runner host #{host} is the runner flamed lists")
    check(listed.warm == true, "flamed reports that runner as warm (Runner.warm)")

    check(
      listed.labels["flame.node_base"] == base,
      "the Boot's labels reached the warm runner's record (flame.node_base=#{base})"
    )

    check(
      logged?(~r/Flamed\.Backend: runner .* is running \(warm\)/),
      "the backend logs that its Boot took a warm runner"
    )

    IO.puts("E2E RUNNER warm #{host} #{div(us, 1000)} ms")
    Node.monitor(runner, true)

    receive do
      {:nodedown, ^runner} -> check(true, "idle shutdown stopped the warm runner")
    after
      20_000 -> check(false, "idle shutdown stopped the warm runner within 20 s")
    end

    check(
      wait_until(15_000, fn -> Flamed.Client.list(ch, pool("warm")) == {:ok, []} end),
      "flamed removed the idle warm runner"
    )

    Flamed.Client.disconnect(ch)
  end

  # flamed's log (the run script mounts it read-only at /run/flamed-log/flamed.log).
  defp flamed_log_has?(word) do
    case File.read("/run/flamed-log/flamed.log") do
      {:ok, text} -> String.contains?(text, word)
      _ -> false
    end
  end

  # Flamed.Client.logs/3 and logs/5 against a runner booted through Flamed.Client: the
  # output so far with stdout and stderr apart, tail, since, follow until the container
  # stops, and flamed's errors.
  @doc false
  def logs do
    {:ok, ch} = Flamed.Client.connect(@addr)

    req = %{
      image: env!("FLTEST_IMAGE"),
      network: env!("FLTEST_NETWORK"),
      pool: pool("logs"),
      labels: %{"fltest.run" => env!("FLTEST_RUN")},
      boot_timeout_ms: 30_000,
      # the pauses order the lines: Docker copies stdout and stderr concurrently
      cmd: ["sh", "-c", "printf 'a\\nb\\n'; sleep 0.5; echo e >&2; sleep 4; echo late; exit 0"]
    }

    {:ok, runner} = Flamed.Client.boot(ch, req, 40_000)

    check(
      wait_until(10_000, fn ->
        match?({:ok, [_, _ | _]}, Flamed.Client.logs(ch, runner.id)) and
          Enum.any?(elem(Flamed.Client.logs(ch, runner.id), 1), &match?({:stderr, _}, &1))
      end),
      "Flamed.Client.logs/3 returns the runner's first output"
    )

    {:ok, chunks} = Flamed.Client.logs(ch, runner.id)
    check(joined(chunks, :stdout) == "a\nb\n", "logs/3: stdout apart (#{inspect(chunks)})")
    check(joined(chunks, :stderr) == "e\n", "logs/3: stderr apart (#{inspect(chunks)})")
    {:ok, tail} = Flamed.Client.logs(ch, runner.id, tail: 1)
    check(tail == [{:stderr, "e\n"}], "logs/3 tail: 1 is the last line (#{inspect(tail)})")
    {:ok, stamped} = Flamed.Client.logs(ch, runner.id, tail: 1, timestamps: true)

    check(
      match?([{:stderr, "20" <> _}], stamped) and
        String.ends_with?(joined(stamped, :stderr), " e\n"),
      "logs/3 timestamps: true prefixes the line with Docker's time (#{inspect(stamped)})"
    )

    # follow: everything, then the stream closes when the container stops; with since
    # = now, only what comes after
    since = DateTime.utc_now()
    all = make_ref()
    later = make_ref()
    Flamed.Client.logs(ch, runner.id, [follow: true], self(), all)
    Flamed.Client.logs(ch, runner.id, [follow: true, since: since], self(), later)
    {followed, down} = collect_logs(all, 20_000)
    {after_since, down_since} = collect_logs(later, 20_000)

    check(
      joined(followed, :stdout) == "a\nb\nlate\n" and joined(followed, :stderr) == "e\n",
      "logs/5 follow: the whole output (#{inspect(followed)})"
    )

    check(
      down == :closed,
      "logs/5 follow ends :closed when the runner's container stops (#{inspect(down)})"
    )

    check(
      after_since == [{:stdout, "late\n"}] and down_since == :closed,
      "logs/5 since: only the output after it (#{inspect(after_since)}, #{inspect(down_since)})"
    )

    missing = Flamed.Client.logs(ch, "fltest-no-such-runner")

    check(
      match?({:error, {:not_found, "runner 'fltest-no-such-runner' not found" <> _}}, missing),
      "logs/3 of an unknown runner: {:error, {:not_found, message}} (#{inspect(missing)})"
    )

    ref = make_ref()
    Flamed.Client.logs(ch, "fltest-no-such-runner", [follow: true], self(), ref)
    {[], gone} = collect_logs(ref, 10_000)

    check(
      match?({:error, {:not_found, _}}, gone),
      "logs/5 of an unknown runner ends with :not_found"
    )

    check(
      wait_until(15_000, fn -> Flamed.Client.list(ch, pool("logs")) == {:ok, []} end),
      "flamed removed the runner whose command ended"
    )

    Flamed.Client.disconnect(ch)
  end

  defp joined(chunks, stream),
    do: for({^stream, data} <- chunks, into: "", do: data)

  defp collect_logs(ref, ms, acc \\ []) do
    receive do
      {:flamed_logs, ^ref, chunk} -> collect_logs(ref, ms, [chunk | acc])
      {:flamed_logs_down, ^ref, reason} -> {Enum.reverse(acc), reason}
    after
      ms -> {Enum.reverse(acc), :timeout}
    end
  end

  # max: 2 with max_concurrency: 2 spreads 4 concurrent calls over exactly 2 runners.
  @doc false
  def spread do
    # config :flame, Flamed.Backend, log: :info survives the pool's default log: false
    Application.put_env(:flame, Flamed.Backend, log: :info)

    {:ok, _} =
      start_pool(
        name: E2E.Spread,
        min: 0,
        max: 2,
        max_concurrency: 2,
        idle_shutdown_after: 2_000,
        boot_timeout: 60_000,
        backend: {Flamed.Backend, backend_opts("spread")}
      )

    nodes =
      1..4
      |> Enum.map(fn _ ->
        Task.async(fn ->
          FLAME.call(E2E.Spread, fn -> Process.sleep(3_000) && node() end, timeout: 90_000)
        end)
      end)
      |> Task.await_many(120_000)

    distinct = Enum.uniq(nodes)
    Application.delete_env(:flame, Flamed.Backend)

    check(
      logged?(~r/Flamed\.Backend: booting a runner of pool #{pool("spread")} /),
      "config :flame, Flamed.Backend, log: :info takes effect under a pool without log:"
    )

    check(
      length(distinct) == 2,
      "4 calls spread over exactly max=2 runners: #{inspect(distinct)}"
    )

    check(Enum.all?(distinct, &(&1 != node())), "all ran on runners")
    IO.puts("E2E RUNNERS spread #{length(distinct)}")

    {:ok, ch} = Flamed.Client.connect(@addr)

    check(
      wait_until(30_000, fn -> Flamed.Client.list(ch, pool("spread")) == {:ok, []} end),
      "idle shutdown removed both spread runners"
    )

    Flamed.Client.disconnect(ch)
  end

  # A missing image with pull_policy :never: flamed's reason reaches the parent.
  @doc false
  def boot_failure_missing_image do
    opts =
      backend_opts("missing")
      |> Keyword.merge(image: "fltest-missing-image:none", pull_policy: :never)

    result = failed_call(E2E.Missing, opts)
    IO.puts("E2E BOOTFAIL missing #{inspect(result, limit: 20)}")

    check(
      logged?(~r/Boot failed: .*fltest-missing-image:none.*pull_policy is NEVER/),
      "a missing image with pull_policy :never logs flamed's reason"
    )
  end

  # A runner command that exits at once: the parent hears flamed's exit event.
  @doc false
  def boot_failure_exits_at_once do
    opts = Keyword.merge(backend_opts("exits"), cmd: ["sh", "-c", "exit 3"])
    result = failed_call(E2E.Exits, opts)
    IO.puts("E2E BOOTFAIL exits #{inspect(result, limit: 20)}")

    check(
      # flamed's Boot fails (ABORTED) when the container exits during boot; if it
      # exits just after, the backend's Watch reports it
      logged?(
        ~r/Boot failed: aborted: .* exited during boot with exit code 3|ended before connecting back: exited, exit code 3/
      ),
      "a command that exits at once is reported with its exit code"
    )
  end

  # A runner that runs but never connects back (its command ignores FLAME and SIGTERM):
  # remote_boot exits :timeout after boot_timeout, and the runner is stopped with the
  # short boot_failure_grace (1 s) instead of the 10 s shutdown grace.
  @doc false
  def never_connects_back do
    opts =
      backend_opts("silent")
      # long enough for a busy dockerd to start the container (Boot's own deadline)
      |> Keyword.merge(cmd: ["sleep", "600"], boot_timeout: 12_000)

    {:ok, state} = Flamed.Backend.init(opts)
    t0 = System.monotonic_time(:millisecond)

    result =
      try do
        Flamed.Backend.remote_boot(state)
      catch
        kind, reason -> {kind, reason}
      end

    ms = System.monotonic_time(:millisecond) - t0
    IO.puts("E2E SILENT #{inspect(result)} in #{ms} ms")

    check(
      result == {:exit, :timeout},
      "a runner that never connects back: remote_boot exits :timeout"
    )

    check(
      ms < 12_000 + 5_000,
      "it is given up on within boot_timeout + 5 s (#{ms} ms; the 10 s grace would be more)"
    )

    {:ok, ch} = Flamed.Client.connect(@addr)

    check(
      wait_until(10_000, fn -> Flamed.Client.list(ch, pool("silent")) == {:ok, []} end),
      "flamed removed the runner that never connected back"
    )

    Flamed.Client.disconnect(ch)
  end

  # The backend's connections and Watches end with their runners: once every pool
  # is idle and its runners are gone, no gRPC connection process is left.
  defp no_lingering_connections do
    check(
      wait_until(10_000, fn -> gun_connections() == [] end),
      "no gRPC connection outlives its runner (left: #{inspect(gun_connections())})"
    )
  end

  defp gun_connections do
    case Process.whereis(:gun_conns_sup) do
      nil -> []
      sup -> Supervisor.which_children(sup)
    end
  end

  # FLAME's pool retries a failed boot every second until the caller's timeout: the
  # call fails with :timeout, and flamed's reason is in the parent's log.
  defp failed_call(name, backend_opts) do
    {:ok, sup} =
      start_pool(
        name: name,
        min: 0,
        max: 1,
        boot_timeout: 20_000,
        backend: {Flamed.Backend, backend_opts}
      )

    result =
      try do
        {:returned, FLAME.call(name, fn -> node() end, timeout: 8_000)}
      catch
        kind, reason -> {kind, reason}
      end

    check(match?({:exit, _}, result), "FLAME.call fails (#{inspect(result, limit: 10)})")
    Supervisor.stop(sup)
    result
  end

  @doc "Boots two runners, prints E2E READY and waits to be killed."
  def kill_main do
    {:ok, _} =
      start_pool(
        name: E2E.Kill,
        min: 2,
        max: 2,
        idle_shutdown_after: :infinity,
        boot_timeout: 60_000,
        backend: {Flamed.Backend, backend_opts("kill")}
      )

    nodes =
      1..2
      |> Enum.map(fn _ ->
        Task.async(fn ->
          FLAME.call(E2E.Kill, fn -> Process.sleep(500) && node() end, timeout: 90_000)
        end)
      end)
      |> Task.await_many(120_000)

    IO.puts("E2E READY #{nodes |> Enum.uniq() |> length()}")
    Process.sleep(:infinity)
  end

  # The scenarios FLTEST_SCENARIOS names (all when unset or empty), in main/0's order;
  # an unknown name raises, so a typo cannot pass by running nothing.
  defp scenarios do
    case System.get_env("FLTEST_SCENARIOS", "") |> String.split(",", trim: true) do
      [] ->
        @scenarios

      names ->
        known = Enum.map(@scenarios, fn {name, _} -> Atom.to_string(name) end)

        for name <- names,
            name not in known,
            do:
              raise(
                "FLTEST_SCENARIOS: unknown scenario #{name} (known: #{Enum.join(known, ", ")})"
              )

        Enum.filter(@scenarios, fn {name, _} -> Atom.to_string(name) in names end)
    end
  end

  defp backend_opts(suffix) do
    [
      addr: @addr,
      image: env!("FLTEST_IMAGE"),
      network: env!("FLTEST_NETWORK"),
      pool: pool(suffix),
      labels: %{"fltest.run" => env!("FLTEST_RUN")},
      lease_ttl: String.to_integer(env!("FLTEST_LEASE_TTL_MS")),
      cmd: [
        "elixir",
        "--no-halt",
        "-pa",
        "/app/lib/*/ebin",
        "-e",
        "{:ok, _} = Application.ensure_all_started(:flame_e2e)"
      ]
    ]
  end

  # FLAME.Pool's child_spec/1 starts the supervisors the pool needs.
  defp start_pool(opts), do: Supervisor.start_link([{FLAME.Pool, opts}], strategy: :one_for_one)

  defp pool(suffix), do: env!("FLTEST_POOL") <> "-" <> suffix

  defp env!(name), do: System.fetch_env!(name)

  defp check(true, what), do: IO.puts("E2E ok: #{what}")
  defp check(_, what), do: raise("check failed: #{what}")

  defp wait_until(ms, fun) do
    deadline = System.monotonic_time(:millisecond) + ms

    Stream.repeatedly(fn ->
      fun.() || (Process.sleep(200) && false)
    end)
    |> Enum.find(fn ok -> ok or System.monotonic_time(:millisecond) > deadline end)
    |> Kernel.==(true)
  end

  # Every log message the parent's Logger emits is kept in an ETS table and printed.
  defp capture_logs do
    :ets.new(:e2e_logs, [:named_table, :public, :bag])
    :ok = :logger.add_handler(:e2e_capture, __MODULE__, %{})
  end

  @doc false
  def log(%{msg: msg, level: level, meta: meta}, _config) do
    text =
      case msg do
        {:string, s} -> IO.chardata_to_string(s)
        {:report, r} -> inspect(r)
        {format, args} -> format |> :io_lib.format(args) |> IO.chardata_to_string()
      end

    if :ets.info(:e2e_logs) != :undefined, do: :ets.insert(:e2e_logs, {text})
    _ = meta
    IO.puts("LOG [#{level}] #{text}")
  rescue
    _ -> :ok
  end

  defp logged?(regex) do
    wait_until(5_000, fn ->
      :ets.tab2list(:e2e_logs) |> Enum.any?(fn {t} -> Regex.match?(regex, t) end)
    end)
  end
end
