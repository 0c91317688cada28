defmodule FlameBench do
  @moduledoc """
  bench/flame's parent: cold and warm `FLAME.call` through Flamed.Backend (flamed) and
  through FLAMEDockerBackend (the Docker socket), same image, same runner command,
  interleaved: each round starts a pool per backend in turn (order alternating), times
  the first call (cold: boots the runner), then `@warm` calls on that runner (warm),
  stops the pool and waits until the runner's node is down. Prints one
  `SAMPLE backend cold|warm ms` line per measurement and `BENCH DONE`.
  """

  @warm 20

  def main do
    rounds = String.to_integer(System.get_env("FLTEST_ROUNDS", "15"))

    for i <- 1..rounds do
      order = if rem(i, 2) == 1, do: [:flamed, :docker], else: [:docker, :flamed]
      Enum.each(order, &round(&1, i))
    end

    IO.puts("BENCH DONE")
    System.halt(0)
  catch
    kind, reason ->
      IO.puts("BENCH FAIL: #{Exception.format(kind, reason, __STACKTRACE__)}")
      System.halt(1)
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
           backend: backend(backend, i)}
        ],
        strategy: :one_for_one
      )

    {cold_us, runner} = :timer.tc(fn -> FLAME.call(name, fn -> node() end, timeout: 90_000) end)
    true = runner != node()
    IO.puts("SAMPLE #{backend} cold #{Float.round(cold_us / 1000, 3)}")

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

  defp runner_cmd(sname) do
    [
      "sh",
      "-c",
      "exec elixir #{sname} --no-halt -pa '/app/lib/*/ebin' " <>
        "-e '{:ok, _} = Application.ensure_all_started(:flame_bench)'"
    ]
  end

  defp backend(:flamed, _i) do
    {Flamed.Backend,
     addr: "unix:/run/flamed/flamed.sock",
     image: env!("FLTEST_IMAGE"),
     network: env!("FLTEST_NETWORK"),
     pool: env!("FLTEST_POOL"),
     labels: %{"fltest.run" => env!("FLTEST_RUN")},
     # Flamed.Env puts -sname/-setcookie in ERL_AFLAGS
     cmd: runner_cmd("")}
  end

  defp backend(:docker, _i) do
    {FLAMEDockerBackend,
     image: env!("FLTEST_IMAGE"),
     network: env!("FLTEST_NETWORK"),
     # FLAMEDockerBackend sets no node name: the runner takes its container's hostname
     # (its node base) and the cookie it is given (RELEASE_COOKIE)
     cmd: runner_cmd(~s(--sname "$HOSTNAME" --cookie "$RELEASE_COOKIE")),
     env: %{"FLTEST_RUN" => env!("FLTEST_RUN")}}
  end

  defp env!(name), do: System.fetch_env!(name)
end
