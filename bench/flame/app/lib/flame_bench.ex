defmodule FlameBench do
  @moduledoc """
  bench/flame's parent: cold and warm `FLAME.call` through Flamed.Backend (flamed, a
  cold Boot), through Flamed.Backend into a pool flamed keeps warm runners for
  (`flamed --pools`: its Boot takes a runner made ahead) and through
  FLAMEDockerBackend (the Docker socket), same image, same runner command,
  interleaved: each round starts a pool per backend in turn (order rotating), times
  the first call (cold: boots the runner), then `@warm` calls on that runner (warm),
  stops the pool and waits until the runner's node is down. Before every
  backend's cold call it waits until each of flamed's warm pools (FLTEST_WARM_POOLS)
  has a runner ready (flamed's log: more `warm_runner_ready` than `boot_ok_warm`
  lines), so the warm-pool figure is the "pool ready" case and no refill from an
  earlier round runs beside any backend's call; it checks with List that a warm-pool
  runner was warm. Prints one
  `SAMPLE backend cold|warm ms` line per measurement (`SAMPLE warmpool-miss ...` for
  a warm-pool call answered by a cold Boot) and `BENCH DONE`.
  """

  @warm 20

  def main do
    each_round("15", "flamed warmpool docker", &round/2)
    IO.puts("BENCH DONE")
    System.halt(0)
  catch
    kind, reason ->
      IO.puts("BENCH FAIL: #{Exception.format(kind, reason, __STACKTRACE__)}")
      System.halt(1)
  end

  @doc """
  Runs `fun.(arm, round)` for FLTEST_ROUNDS rounds (default `rounds`) of the arms in
  FLTEST_ARMS (default `arms`, space-separated), interleaved, the order rotating per
  round.
  """
  def each_round(rounds, arms, fun) do
    rounds = String.to_integer(System.get_env("FLTEST_ROUNDS", rounds))
    arms = System.get_env("FLTEST_ARMS", arms) |> String.split() |> Enum.map(&String.to_atom/1)

    for i <- 1..rounds do
      k = rem(i, length(arms))
      Enum.each(Enum.drop(arms, k) ++ Enum.take(arms, k), &fun.(&1, i))
    end
  end

  defp round(backend, i) do
    name = :"bench_#{backend}_#{i}"

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
           backend: backend_for(backend, i)}
        ],
        strategy: :one_for_one
      )

    # every warm pool ready (no refill in flight) before any arm's cold call: the
    # only refill beside a measured call is the one that call's own take starts
    for pool <- String.split(System.get_env("FLTEST_WARM_POOLS", env!("FLTEST_POOL") <> "-warm")),
        do: await_warm_ready(60_000, pool)

    {cold_us, runner} = :timer.tc(fn -> FLAME.call(name, fn -> node() end, timeout: 90_000) end)
    true = runner != node()

    label =
      if backend in [:warmpool, :warmdelay] and not taken_warm?(runner),
        do: "#{backend}-miss",
        else: backend

    IO.puts("SAMPLE #{label} cold #{Float.round(cold_us / 1000, 3)}")

    for _ <- 1..@warm do
      {us, ^runner} = :timer.tc(fn -> FLAME.call(name, fn -> node() end) end)
      IO.puts("SAMPLE #{backend} warm #{Float.round(us / 1000, 3)}")
    end

    Node.monitor(runner, true)
    Supervisor.stop(sup)

    receive do
      {:nodedown, ^runner} -> :ok
    after
      30_000 -> raise "runner #{runner} of #{backend} did not stop"
    end

    # let the container be removed before the next round
    Process.sleep(1_500)
  end

  # flamed's log (mounted at /run/flamed-log): a runner of `pool` is ready when flamed
  # has made more of them than Boots have taken.
  @doc false
  def await_warm_ready(ms, pool \\ env!("FLTEST_POOL") <> "-warm") do
    lines = File.read!("/run/flamed-log/flamed.log") |> String.split("\n")
    tag = " pool=#{pool} "

    count = fn word ->
      Enum.count(lines, &(String.contains?(&1, word) and String.contains?(&1, tag)))
    end

    cond do
      count.("msg=warm_runner_ready") > count.("msg=boot_ok_warm") ->
        :ok

      ms <= 0 ->
        raise "flamed had no warm runner of #{pool} ready within 60 s"

      true ->
        Process.sleep(20)
        await_warm_ready(ms - 20, pool)
    end
  end

  defp taken_warm?(runner) do
    [_, host] = runner |> Atom.to_string() |> String.split("@")
    {:ok, ch} = Flamed.Client.connect("unix:/run/flamed/flamed.sock")
    {:ok, runners} = Flamed.Client.list(ch, "")
    Flamed.Client.disconnect(ch)
    Enum.any?(runners, &(&1.name == host and &1.warm))
  end

  defp runner_cmd(sname) do
    [
      "sh",
      "-c",
      "exec elixir #{sname} --no-halt -pa '/app/lib/*/ebin' " <>
        "-e '{:ok, _} = Application.ensure_all_started(:flame_bench)'"
    ]
  end

  @doc """
  The backend of an arm (`:flamed`, `:warmpool`, `:docker`) whose runners run
  `cmd_fun.(extra)` (`extra`: the node flags the arm needs on the command line).
  """
  def backend_for(arm, i, cmd_fun \\ &runner_cmd/1), do: backend(arm, i, cmd_fun)

  defp backend(:flamed, _i, cmd_fun) do
    {
      Flamed.Backend,
      # Flamed.Env puts -sname/-setcookie in ERL_AFLAGS
      addr: "unix:/run/flamed/flamed.sock",
      image: env!("FLTEST_IMAGE"),
      network: env!("FLTEST_NETWORK"),
      pool: env!("FLTEST_POOL"),
      labels: %{"fltest.run" => env!("FLTEST_RUN")},
      cmd: cmd_fun.("")
    }
  end

  # the same options with the pool flamed keeps warm runners for (run: --pools, whose
  # spec is image, network and this cmd: what Flamed.Backend sends for this pool)
  defp backend(:warmpool, i, cmd_fun) do
    {Flamed.Backend, opts} = backend(:flamed, i, cmd_fun)
    {Flamed.Backend, Keyword.put(opts, :pool, env!("FLTEST_POOL") <> "-warm")}
  end

  # the same with a pool whose spec has a refill_delay_ms (run: --pools)
  defp backend(:warmdelay, i, cmd_fun) do
    {Flamed.Backend, opts} = backend(:flamed, i, cmd_fun)
    {Flamed.Backend, Keyword.put(opts, :pool, env!("FLTEST_POOL") <> "-warmdelay")}
  end

  defp backend(:docker, _i, cmd_fun) do
    {
      FLAMEDockerBackend,
      # FLAMEDockerBackend sets no node name: the runner takes its container's hostname
      # (its node base) and the cookie it is given (RELEASE_COOKIE)
      image: env!("FLTEST_IMAGE"),
      network: env!("FLTEST_NETWORK"),
      cmd: cmd_fun.(~s(--sname "$HOSTNAME" --cookie "$RELEASE_COOKIE")),
      env: %{"FLTEST_RUN" => env!("FLTEST_RUN")}
    }
  end

  defp env!(name), do: System.fetch_env!(name)
end

