defmodule Flamed.Backend do
  @moduledoc """
  A `FLAME.Backend` that boots runners as Docker containers through flamed.

      # config/runtime.exs
      config :flame, :backend, Flamed.Backend
      config :flame, Flamed.Backend,
        addr: "unix:/run/flamed/flamed.sock",
        image: "myapp:latest",
        network: "myapp"

      # a pool with its own options (merged over the ones above)
      {FLAME.Pool, name: MyApp.FFMpegRunner, min: 0, max: 10, max_concurrency: 5,
       backend: {Flamed.Backend, pool: "ffmpeg", host_config: %{"Memory" => 2_147_483_648}}}

  How it follows FLAME's contract (FLAME v0.5, like `FLAME.FlyBackend`):

    * `init/1` merges `config :flame, Flamed.Backend` with the pool's options and
      validates them (`Flamed.Config`; bad options raise `ArgumentError` naming the
      fix), makes a unique node base (`Flamed.NodeBase`), encodes a `FLAME.Parent`
      with `host_env: "HOSTNAME"` and builds the runner's environment
      (`Flamed.Env`: `FLAME_PARENT`, `RELEASE_COOKIE`, `ERL_AFLAGS`/`ERL_ZFLAGS`,
      `PHX_SERVER=false`, ...).
    * `remote_boot/1` calls flamed's Boot, which returns once the container runs;
      the runner's node is `node_base@<container name>` and its Terminator connects
      back and sends `{ref, {:remote_up, pid}}`. If that does not arrive within
      `:boot_timeout` (counted from Boot), the runner is shut down through flamed (with
      the short `:boot_failure_grace`) and
      `remote_boot/1` exits with `:timeout`, as FLAME's own backends do; if the
      container exits first (flamed's Watch says so) it is removed and the result is
      `{:error, {:runner_ended, event}}`.
    * `remote_spawn_monitor/2` runs a function or `{mod, fun, args}` on the runner's
      node (`Node.spawn_monitor`).
    * `system_shutdown/0` stops the VM; it runs on the runner (its Terminator calls
      it on idle shutdown or when the parent goes away), and the container exits.
    * `handle_info/2` takes the runner's events from a Watch stream opened after
      Boot: an exit is logged with its code and whether the OOM killer did it, and
      closes the runner's gRPC connection and Watch at once; FLAME itself sees the
      runner go through its monitor on the Terminator.

  Logging: FLAME.Pool 0.5.3 puts the pool's `log:` over the backend's `:log`, so set
  `log:` on the pool or give the backend `backend_log: :info`. Idle shutdown: the
  pool's `idle_shutdown_after:` is FLAME's; this backend's `:spawn_idle_shutdown_after`
  (formerly `:idle_shutdown_after`) is flamed's Spawn idleness. See `Flamed.Config`.

  The parent must be a distributed node reachable by name on `:network` (for
  example a container on that network started with `--sname`), with the cookie the
  runners get. See the README for node names with `--name`.
  """

  @behaviour FLAME.Backend

  require Logger

  alias Flamed.{Client, Config, Env, NodeBase, Remote, Request}

  @derive {Inspect,
           only: [:node_base, :runner, :runner_node, :remote_terminator_pid, :last_event]}
  defstruct config: nil,
            parent_ref: nil,
            node_base: nil,
            env: %{},
            channel: nil,
            runner: nil,
            runner_node: nil,
            remote_terminator_pid: nil,
            watch_ref: nil,
            last_event: nil

  @impl true
  def init(opts) do
    app_env = Application.get_env(:flame, __MODULE__) || []
    config = Config.new!(app_env, opts)

    for key <- config.deprecated do
      Logger.warning(
        "Flamed.Backend: #{inspect(key)} is deprecated: it is flamed's Spawn idleness, " <>
          "not FLAME's; write :spawn_idle_shutdown_after (FLAME's own idle shutdown is " <>
          "the pool's idle_shutdown_after:)"
      )
    end

    node_base = NodeBase.new()
    parent_ref = make_ref()

    encoded_parent =
      parent_ref
      |> FLAME.Parent.new(self(), __MODULE__, node_base, "HOSTNAME")
      |> FLAME.Parent.encode()

    env_opts = [
      parent: encoded_parent,
      node_base: node_base,
      cookie: Node.get_cookie(),
      distribution: Env.distribution(node()),
      parent_env: System.get_env()
    ]

    case Env.build(config, env_opts) do
      {:ok, env} ->
        {:ok, %__MODULE__{config: config, parent_ref: parent_ref, node_base: node_base, env: env}}

      {:error, message} ->
        raise ArgumentError, message
    end
  end

  @impl true
  def remote_boot(%__MODULE__{config: config, parent_ref: parent_ref} = state) do
    started = System.monotonic_time(:millisecond)
    req = Request.boot(config, state.env, node_base: state.node_base)

    log(
      config,
      "booting a runner of pool #{config.pool} from #{config.image} through #{config.addr}"
    )

    with {:ok, channel} <- connect(config),
         {:ok, runner} <- boot(channel, req, config) do
      watch_ref = make_ref()
      Client.watch(channel, runner.id, req.parent_id, self(), watch_ref)
      remaining = max(config.boot_timeout - (System.monotonic_time(:millisecond) - started), 0)

      log(
        config,
        "runner #{runner.id} (#{runner.name}) is running#{if Map.get(runner, :warm), do: " (warm)"}; " <>
          "waiting for its node to connect back"
      )

      case Remote.await_up(parent_ref, remaining, watch_ref) do
        {:ok, terminator} ->
          log(config, "runner #{runner.id} is up as #{node(terminator)}")

          {:ok, terminator,
           %__MODULE__{
             state
             | channel: channel,
               runner: runner,
               runner_node: node(terminator),
               remote_terminator_pid: terminator,
               watch_ref: watch_ref
           }}

        {:error, :timeout} ->
          Logger.error(
            "Flamed.Backend: runner #{runner.id} (#{runner.name}) did not connect back within " <>
              "#{config.boot_timeout} ms: check that it can resolve and reach #{node()} on network " <>
              "#{config.network} with the same cookie; shutting it down"
          )

          stop_runner(channel, runner, config, watch_ref)
          exit(:timeout)

        {:error, {:runner_ended, event}} = error ->
          Logger.error(
            "Flamed.Backend: runner #{runner.id} (#{runner.name}) ended before connecting back: " <>
              "#{event.type}, exit code #{event.exit_code}#{if event.oom_killed, do: " (OOM killed)"}" <>
              if(event.error != "", do: ": #{event.error}", else: "")
          )

          stop_runner(channel, runner, config, watch_ref)
          error
      end
    end
  end

  @impl true
  def remote_spawn_monitor(%__MODULE__{runner_node: node}, term)
      when is_atom(node) and node != nil do
    Remote.spawn_monitor(node, term)
  end

  @impl true
  def system_shutdown do
    System.stop()
  end

  @impl true
  def handle_info({:flamed_event, ref, event}, %__MODULE__{watch_ref: ref} = state) do
    if event.type in [:exited, :failed] do
      log(
        state.config,
        "runner #{event.runner_id} (#{event.name}) #{event.type}, exit code #{event.exit_code}" <>
          if(event.oom_killed, do: " (OOM killed)", else: "")
      )
    end

    state = %__MODULE__{state | last_event: event}

    # The runner's process ended (EXITED) or its container is gone: flamed removes it
    # by itself (or keeps it, with keep_runner), so the Watch and the connection have
    # nothing left to do. Closing the connection ends the Watch's stream.
    if event.ended? and state.channel do
      Client.disconnect(state.channel)
      {:noreply, %__MODULE__{state | channel: nil}}
    else
      {:noreply, state}
    end
  end

  def handle_info({:flamed_watch_down, ref, reason}, %__MODULE__{watch_ref: ref} = state) do
    if reason != :closed and state.channel do
      log(
        state.config,
        "watch of runner #{state.runner && state.runner.id} ended: #{inspect(reason)}"
      )
    end

    {:noreply, state}
  end

  def handle_info(_msg, state), do: {:noreply, state}

  defp connect(config) do
    case Client.connect(config.addr, config.connect_opts) do
      {:ok, channel} ->
        {:ok, channel}

      {:error, reason} ->
        Logger.error(
          "Flamed.Backend: cannot reach flamed at #{config.addr} (#{inspect(reason)}): " <>
            "start it (flamed --listen #{config.addr}) or set :addr"
        )

        {:error, {:flamed_unreachable, reason}}
    end
  end

  defp boot(channel, req, config) do
    case Client.boot(channel, req, config.boot_timeout + 5_000) do
      {:ok, runner} ->
        {:ok, runner}

      {:error, reason} = error ->
        Logger.error("Flamed.Backend: Boot failed: #{format_reason(reason)}")
        Client.disconnect(channel)
        error
    end
  end

  # A runner that never connected back ran no work: stop it with a short grace
  # (:boot_failure_grace), not the full shutdown grace, so FLAME is not held longer.
  defp stop_runner(channel, runner, config, watch_ref) do
    case Client.shutdown(channel, runner.id, config.boot_failure_grace) do
      {:ok, _} ->
        :ok

      {:error, reason} ->
        Logger.error(
          "Flamed.Backend: Shutdown of runner #{runner.id} failed: #{format_reason(reason)}"
        )
    end

    Client.disconnect(channel)
    flush_events(watch_ref)
  end

  defp flush_events(ref) do
    receive do
      {:flamed_event, ^ref, _} -> flush_events(ref)
      {:flamed_watch_down, ^ref, _} -> flush_events(ref)
    after
      0 -> :ok
    end
  end

  defp format_reason({code, message}) when is_atom(code) and is_binary(message),
    do: "#{code}: #{message}"

  defp format_reason(reason), do: inspect(reason)

  defp log(%Config{log: false}, _message), do: :ok
  defp log(%Config{log: level}, message), do: Logger.log(level, "Flamed.Backend: " <> message)
end
