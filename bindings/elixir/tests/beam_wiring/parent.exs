# The parent side of the BEAM wiring test, run by tests/beam_wiring/run in a
# flamed-test/beam container on the test's network as
#   elixir --sname parent --cookie C -pa /opt/fltest/ebin parent.exs
# (its hostname is its container name, so runners reach parent@<name> by Docker DNS).
#
# It uses the binding's own code: Flamed.Backend.init/1 (config merge, node base,
# FLAME.Parent with host_env "HOSTNAME" (FLAME's encode/1 from the stand-in),
# Flamed.Env), Flamed.Request.boot/3, Flamed.Remote.await_up/3 and
# Flamed.Backend.remote_spawn_monitor/2. Only the gRPC call is not its own: the
# container has no grpc deps, so it asks the run script to run flamectl on the host
# with the same request (files in /xchg: cmd-N.args, NUL-separated, answered by
# cmd-N.out, cmd-N.err and cmd-N.rc).
#
#   runner 1: boot, connect back, node name and DNS alias, environment, a function and
#             an MFA run there, then Shutdown through flamed: its node goes down.
#   runner 2: boot, then FLAME's own shutdown path: Terminator.system_shutdown/1 on
#             the runner calls Flamed.Backend.system_shutdown/0 and its node goes down.
# Its modules (lib/, the stubs, tests/support/standins.ex, tests/beam_wiring/support.ex)
# are compiled by the run script into /opt/fltest/ebin (-pa /opt/fltest/ebin), as a release would hold them.

defmodule FlamedWiring.Host do
  @xchg "/xchg"

  # Runs `flamectl --addr <the test's flamed> args...` on the host.
  def flamectl(args, timeout_ms \\ 60_000) do
    base = Path.join(@xchg, "cmd-#{System.unique_integer([:positive, :monotonic])}")
    File.write!(base <> ".tmp", Enum.join(args, <<0>>))
    File.rename!(base <> ".tmp", base <> ".args")
    wait_file(base <> ".rc", System.monotonic_time(:millisecond) + timeout_ms)
    rc = (base <> ".rc") |> File.read!() |> String.trim() |> String.to_integer()
    {rc, File.read!(base <> ".out"), File.read!(base <> ".err")}
  end

  defp wait_file(path, deadline) do
    cond do
      File.exists?(path) ->
        :ok

      System.monotonic_time(:millisecond) > deadline ->
        FlamedWiring.Parent.fail("no answer for #{path}")

      true ->
        Process.sleep(20) && wait_file(path, deadline)
    end
  end
end

defmodule FlamedWiring.Parent do
  alias FlamedWiring.{Host, JSON, Work}

  def main do
    run = env!("FLTEST_RUN")

    Application.put_env(:flame, Flamed.Backend,
      image: env!("FLTEST_IMAGE"),
      network: env!("FLTEST_NETWORK"),
      pool: env!("FLTEST_POOL"),
      labels: %{"fltest.run" => run},
      # host paths (flamed's dockerd resolves bind sources there): the binding, its beams
      mounts: [
        %{
          "Type" => "bind",
          "Source" => env!("FLTEST_SRC"),
          "Target" => "/flamed",
          "ReadOnly" => true
        },
        %{
          "Type" => "bind",
          "Source" => env!("FLTEST_EBIN"),
          "Target" => "/opt/fltest/ebin",
          "ReadOnly" => true
        }
      ],
      cmd: ["elixir", "-pa", "/opt/fltest/ebin", "/flamed/tests/beam_wiring/runner.exs"],
      # generous: on a loaded CI machine Docker alone can take half a minute to start one
      boot_timeout: String.to_integer(System.get_env("FLTEST_BOOT_TIMEOUT_MS", "90000")),
      keep_runner: System.get_env("FLTEST_KEEP") == "1"
    )

    log("parent #{node()} (cookie #{Node.get_cookie()})")

    {s1, r1} = boot_runner("runner 1")
    check_identity(s1, r1)
    check_work(s1, r1)

    {s2, r2} = boot_runner("runner 2")
    check_system_shutdown(s2, r2)

    check_flamed_shutdown(s1, r1)
    log("PASS")
    System.halt(0)
  end

  # Flamed.Backend.remote_boot/1, with flamectl doing the Boot call.
  defp boot_runner(label) do
    {:ok, state} = Flamed.Backend.init([])
    req = Flamed.Request.boot(state.config, state.env, node_base: state.node_base)
    t0 = System.monotonic_time(:millisecond)
    {rc, out, err} = Host.flamectl(boot_args(state.config, req))
    if rc != 0, do: fail("#{label}: flamectl boot exited #{rc}: #{err}")
    runner = JSON.decode!(out)
    booted = System.monotonic_time(:millisecond)

    case Flamed.Remote.await_up(state.parent_ref, state.config.boot_timeout - (booted - t0)) do
      {:ok, terminator} ->
        up = System.monotonic_time(:millisecond)

        log(
          "#{label}: #{runner["id"]} #{runner["name"]} #{runner["ip_address"]}: Boot #{booted - t0} ms, " <>
            "remote_up #{up - booted} ms later from #{node(terminator)}"
        )

        {%Flamed.Backend{
           state
           | runner_node: node(terminator),
             remote_terminator_pid: terminator
         }, runner}

      {:error, reason} ->
        fail("#{label}: #{runner["name"]} did not connect back: #{inspect(reason)}")
    end
  end

  # The BootRequest as flamectl arguments (request_id/parent_id/lease fields have no
  # flamectl flags; everything a FLAME runner needs does).
  defp boot_args(config, req) do
    pull = req.pull_policy |> Atom.to_string() |> String.replace_prefix("PULL_POLICY_", "")

    ["boot", "--json", "--image", req.image, "--network", req.network, "--pool", req.pool] ++
      [
        "--boot-timeout",
        to_string(req.boot_timeout_ms),
        "--pull",
        pull |> String.downcase() |> String.replace("_", "-")
      ] ++
      Enum.flat_map(Enum.sort(req.env), fn {k, v} -> ["-e", "#{k}=#{v}"] end) ++
      Enum.flat_map(Enum.sort(req.labels), fn {k, v} -> ["-l", "#{k}=#{v}"] end) ++
      Enum.flat_map(config.mounts, &["--mount", JSON.encode(&1)]) ++
      if(config.host_config, do: ["--host-config", JSON.encode(config.host_config)], else: []) ++
      if(req.keep_runner, do: ["--keep"], else: []) ++
      ["--"] ++ req.cmd
  end

  # Hostname and DNS alias: the runner's node is node_base@<container name>, and that
  # name resolves on the network to the runner's address.
  defp check_identity(state, runner) do
    want = :"#{state.node_base}@#{runner["name"]}"
    expect(state.runner_node == want, "runner node #{state.runner_node}, want #{want}")
    {:ok, addr} = :inet.getaddr(String.to_charlist(runner["name"]), :inet)

    expect(
      to_string(:inet.ntoa(addr)) == runner["ip_address"],
      "#{runner["name"]} resolves to #{:inet.ntoa(addr)}, flamed says #{runner["ip_address"]}"
    )

    expect(state.runner_node in Node.list(), "#{state.runner_node} not connected")
    log("identity: #{state.runner_node}; #{runner["name"]} resolves to #{runner["ip_address"]}")
  end

  # remote_spawn_monitor/2 with a function and with an MFA; what the runner sees.
  defp check_work(state, runner) do
    ref = make_ref()
    {:ok, {pid, mref}} = Flamed.Backend.remote_spawn_monitor(state, Work.report_fun(self(), ref))
    report = receive_or_fail(ref, "the runner's report")
    receive_down(mref, pid, :normal)

    name = runner["name"]
    cookie = Atom.to_string(Node.get_cookie())
    expect(report.node == state.runner_node, "work ran on #{report.node}")

    expect(
      report.hostname_env == name and report.hostname == name,
      "hostname #{inspect({report.hostname_env, report.hostname})}, want #{name}"
    )

    expect(report.cookie == Node.get_cookie(), "runner cookie #{report.cookie}")
    expect(node() in report.nodes, "runner is not connected to #{node()}")
    expect(report.env["PHX_SERVER"] == "false", "PHX_SERVER=#{inspect(report.env["PHX_SERVER"])}")

    expect(
      report.env["RELEASE_COOKIE"] == cookie,
      "RELEASE_COOKIE=#{inspect(report.env["RELEASE_COOKIE"])}"
    )

    expect(
      report.env["RELEASE_NODE"] == state.node_base,
      "RELEASE_NODE=#{inspect(report.env["RELEASE_NODE"])}"
    )

    expect(
      report.env["RELEASE_DISTRIBUTION"] == "sname",
      "RELEASE_DISTRIBUTION=#{inspect(report.env["RELEASE_DISTRIBUTION"])}"
    )

    expect(
      report.env["ERL_AFLAGS"] == "-sname #{state.node_base} -setcookie #{cookie} +pc unicode",
      "ERL_AFLAGS=#{inspect(report.env["ERL_AFLAGS"])} (the parent's +pc unicode should follow)"
    )

    %{pid: ppid, ref: pref, backend: backend, node_base: nb, host_env: host_env} = report.parent

    expect(
      ppid == self() and pref == state.parent_ref,
      "FLAME_PARENT pid/ref do not match the parent's"
    )

    expect(
      backend == Flamed.Backend and nb == state.node_base and host_env == "HOSTNAME",
      "FLAME_PARENT: #{inspect(report.parent)}"
    )

    log("function: ran on #{report.node} (OTP #{report.otp}), env and FLAME_PARENT as built")

    ref = make_ref()

    {:ok, {pid, mref}} =
      Flamed.Backend.remote_spawn_monitor(state, {Work, :square, [self(), ref, 12]})

    {result, on} = receive_or_fail(ref, "the MFA's result")
    receive_down(mref, pid, :normal)
    expect(result == 144 and on == state.runner_node, "MFA gave #{inspect({result, on})}")
    log("MFA: Work.square(12) = #{result} on #{on}")
  end

  # FLAME's shutdown: Runner runs Terminator.system_shutdown/1 on the runner, whose
  # Terminator calls the backend's system_shutdown/0 there: System.stop/0.
  defp check_system_shutdown(state, _runner) do
    node = state.runner_node
    :ok = :net_kernel.monitor_nodes(true)
    ref = make_ref()
    fun = Work.system_shutdown_fun(state.remote_terminator_pid, self(), ref)
    {:ok, {_pid, _mref}} = Flamed.Backend.remote_spawn_monitor(state, fun)
    :ok = receive_or_fail(ref, "system_shutdown's reply")
    t0 = System.monotonic_time(:millisecond)
    receive_nodedown(node, 15_000)
    log("system_shutdown: #{node} went down #{System.monotonic_time(:millisecond) - t0} ms after")
  end

  # Shutdown through flamed (SIGTERM to the BEAM): the runner's node goes down.
  defp check_flamed_shutdown(state, runner) do
    node = state.runner_node
    :ok = :net_kernel.monitor_nodes(true)
    t0 = System.monotonic_time(:millisecond)
    {rc, out, err} = Host.flamectl(["shutdown", runner["id"], "--timeout", "10000"])
    expect(rc == 0, "flamectl shutdown exited #{rc}: #{err}")
    receive_nodedown(node, 5_000)

    log(
      "flamectl shutdown: #{String.trim(out)}; #{node} down, #{System.monotonic_time(:millisecond) - t0} ms"
    )
  end

  defp receive_or_fail(ref, what) do
    receive do
      {^ref, value} -> value
    after
      10_000 -> fail("no #{what} within 10 s")
    end
  end

  defp receive_down(mref, pid, reason) do
    receive do
      {:DOWN, ^mref, :process, ^pid, ^reason} -> :ok
      {:DOWN, ^mref, :process, ^pid, other} -> fail("remote process ended with #{inspect(other)}")
    after
      10_000 -> fail("no DOWN from #{inspect(pid)}")
    end
  end

  defp receive_nodedown(node, timeout) do
    receive do
      {:nodedown, ^node} -> :ok
    after
      timeout -> fail("#{node} did not go down within #{timeout} ms")
    end
  end

  defp expect(true, _msg), do: :ok
  defp expect(false, msg), do: fail(msg)

  def fail(msg) do
    IO.puts(:stderr, "[parent] FAIL: #{msg}")
    System.halt(1)
  end

  defp log(msg), do: IO.puts("[parent] #{msg}")
  defp env!(name), do: System.get_env(name) || fail("#{name} is not set")
end

FlamedWiring.Parent.main()
