defmodule Flamed.Client do
  @moduledoc """
  A small client of flamed's `flame.v1.RunnerService` over grpc-elixir 0.9 (Gun
  adapter) with the generated stubs in `lib/flame/v1/runner_service.pb.ex`.

  Requests are built as plain maps by `Flamed.Request` and turned into the
  generated structs here; replies come back as plain maps (`runner/1`). Errors are
  `{:error, {code, message}}` with the gRPC status as an atom (`:not_found`,
  `:failed_precondition`, ...; see the README's error table) or
  `{:error, {:unreachable, reason}}`.

      {:ok, ch} = Flamed.Client.connect("unix:/run/flamed/flamed.sock")
      {:ok, runner} = Flamed.Client.boot(ch, %{image: "app:latest", network: "app"}, 40_000)
      {:ok, _} = Flamed.Client.shutdown(ch, runner.id, 10_000)

  No struct is named at compile time (`struct!/2` and map patterns), so this module
  compiles before the generated modules do.
  """

  alias Flame.V1.RunnerService.Stub
  alias Flamed.Request

  @type channel :: term()
  @type error :: {:error, {atom(), String.t()} | {:unreachable, term()}}

  @doc """
  Connects to flamed at `addr`: `"unix:/path"`, `"unix:///path"`, `"/path"` or
  `"host:port"` (plaintext). `opts` go to `GRPC.Stub.connect/2`; the adapter
  defaults to Gun.
  """
  @spec connect(String.t(), keyword()) :: {:ok, channel()} | error()
  def connect(addr, opts \\ []) do
    opts = opts |> Keyword.put_new(:adapter, GRPC.Client.Adapters.Gun) |> closing_timeout()

    case GRPC.Stub.connect(target(addr), opts) do
      {:ok, channel} -> {:ok, channel}
      {:error, reason} -> {:error, {:unreachable, reason}}
    end
  end

  # Gun closes a connection gracefully when its owner (the process that connected: for
  # Flamed.Backend, FLAME's runner process) exits, waiting for open streams (a Watch)
  # up to closing_timeout, 15 s by default: the connection outlived its runner that
  # long. 1 s is plenty for flamed's answers; an explicit http2_opts closing_timeout wins.
  @closing_timeout_ms 1_000
  defp closing_timeout(opts) do
    if opts[:adapter] == GRPC.Client.Adapters.Gun and Keyword.keyword?(opts[:adapter_opts] || []) do
      Keyword.update(
        opts,
        :adapter_opts,
        [http2_opts: %{closing_timeout: @closing_timeout_ms}],
        fn ao ->
          Keyword.update(ao, :http2_opts, %{closing_timeout: @closing_timeout_ms}, fn h2 ->
            Map.put_new(Map.new(h2), :closing_timeout, @closing_timeout_ms)
          end)
        end
      )
    else
      opts
    end
  end

  @doc """
  Closes the connection at once, ending its open streams (a Watch) too.

  grpc 0.9's `GRPC.Stub.disconnect/1` calls `:gun.shutdown/1`, a graceful close that
  waits for the open streams up to Gun's `closing_timeout` (15 s): a Watch kept the
  connection open that long after its runner ended. With the Gun adapter this closes
  the connection process (`:gun.close/1`) instead.
  """
  def disconnect(nil), do: :ok

  def disconnect(%{adapter: GRPC.Client.Adapters.Gun, adapter_payload: %{conn_pid: pid}})
      when is_pid(pid) do
    _ = :gun.close(pid)
    :ok
  end

  def disconnect(channel) do
    _ = GRPC.Stub.disconnect(channel)
    :ok
  end

  @doc """
  What `GRPC.Stub.connect/2` takes for a flamed address: a unix socket's path (it
  connects to a unix socket when given a string without a colon), or `host:port`.
  """
  @spec target(String.t()) :: String.t()
  def target("unix://" <> path), do: path
  def target("unix:" <> path), do: path
  def target(addr), do: addr

  @doc """
  Boots a runner (`Flamed.Request.boot/3`) and returns it once running. `timeout_ms`
  is the call's deadline: give it more than the request's `boot_timeout_ms`.
  """
  @spec boot(channel(), map(), timeout()) :: {:ok, map()} | error()
  def boot(channel, req, timeout_ms) do
    req =
      req
      |> Map.update(:host_config, nil, &pb_struct/1)
      |> Map.update(:mounts, [], fn mounts -> Enum.map(mounts, &pb_struct/1) end)
      |> Map.update(:placement, nil, &pb_placement/1)

    channel
    |> Stub.boot(struct!(Flame.V1.BootRequest, req), timeout: timeout_ms)
    |> reply()
  end

  @doc "Stops a runner (SIGTERM, SIGKILL after `grace_ms`) and removes it. Idempotent."
  @spec shutdown(channel(), String.t(), non_neg_integer()) :: {:ok, map()} | error()
  def shutdown(channel, runner_id, grace_ms) do
    req = struct!(Flame.V1.ShutdownRequest, Request.shutdown(runner_id, grace_ms))

    channel
    |> Stub.shutdown(req, timeout: grace_ms + 15_000)
    |> reply()
  end

  @doc "The runners flamed tracks, optionally one pool's."
  @spec list(channel(), String.t()) :: {:ok, [map()]} | error()
  def list(channel, pool \\ "") do
    case Stub.list(channel, struct!(Flame.V1.ListRequest, pool: pool), timeout: 10_000) do
      {:ok, %{runners: runners}} -> {:ok, Enum.map(runners, &runner/1)}
      other -> reply(other)
    end
  end

  @doc """
  Renews the leases of `parent_id`'s runners; returns how many were renewed and the
  shortest lease (ms). An open Watch with the parent_id does the same continuously.
  """
  @spec renew(channel(), String.t()) ::
          {:ok, %{renewed: non_neg_integer(), lease_ttl_ms: non_neg_integer()}} | error()
  def renew(channel, parent_id) do
    case Stub.renew(channel, struct!(Flame.V1.RenewRequest, parent_id: parent_id), timeout: 10_000) do
      {:ok, %{renewed: n, lease_ttl_ms: ttl}} -> {:ok, %{renewed: n, lease_ttl_ms: ttl}}
      other -> reply(other)
    end
  end

  @doc """
  Streams one runner's events to `to` from a linked process: each as
  `{:flamed_event, ref, event}` (`Flamed.Request.event/1`), and when the stream
  ends `{:flamed_watch_down, ref, reason}`. The first event is the runner's
  current state (EXISTING). While it is open it holds the leases of `parent_id`'s
  runners. Returns the process.
  """
  @spec watch(channel(), String.t(), String.t(), pid(), reference()) :: pid()
  def watch(channel, runner_id, parent_id, to, ref) do
    req = struct!(Flame.V1.WatchRequest, Request.watch(runner_id, parent_id))

    spawn_link(fn ->
      reason =
        try do
          case Stub.watch(channel, req) do
            {:ok, stream} ->
              Enum.each(stream, fn
                {:ok, resp} -> send(to, {:flamed_event, ref, Request.event(resp)})
                {:error, error} -> throw({:error, error_reason(error)})
                _headers_or_trailers -> :ok
              end)

              :closed

            {:error, error} ->
              {:error, error_reason(error)}
          end
        catch
          {:error, _} = e -> e
          kind, value -> {kind, value}
        end

      send(to, {:flamed_watch_down, ref, reason})
    end)
  end

  @doc """
  Reads one runner's container output so far (the Logs RPC without `:follow`):
  `{:ok, chunks}`, the chunks in the order flamed sent them, each
  `{:stdout, binary}` or `{:stderr, binary}` (stdout and stderr kept apart, each
  in order; Docker's chunks, not lines).

  `opts`: `:tail` (lines, stdout and stderr counted together; `0`/`:all`: all),
  `:since` (`DateTime` or ns since the Unix epoch), `:timestamps` (each line
  prefixed with Docker's RFC 3339 time), as `Flamed.Request.logs/2` takes them,
  and `:timeout`, the call's deadline in **ms** (default 30_000). For `follow:`
  use `logs/5`, which does not hold the output in memory.

  Errors (gRPC status, with the `flame-reason` flamed sends; grpc-elixir 0.9 drops
  trailing metadata, so the reason is not in the tuple):

    * `{:error, {:not_found, msg}}` - `RUNNER_NOT_FOUND`: no such runner, or
      another pool's runner for a pool-scoped token;
    * `{:error, {:failed_precondition, msg}}` - `RUNNER_NOT_RUNNING`: flamed tracks
      the runner but its container is gone (removed) or not created yet;
    * `{:error, {:resource_exhausted, msg}}` - `TOO_MANY_CALLS`: retry later;
    * `{:error, {:unavailable, msg}}` - `DOCKER_UNAVAILABLE` or `SHUTTING_DOWN`;
    * `{:error, {:unauthenticated, msg}}`, `{:error, {:deadline_exceeded, msg}}`,
      `{:error, {:unreachable, reason}}` (no connection).

  Raises `ArgumentError` for a bad option (`Flamed.Request.logs/2`).
  Follows: Docker Engine API ContainerLogs.
  """
  @spec logs(channel(), String.t(), keyword()) ::
          {:ok, [{:stdout | :stderr, binary()}]} | error()
  def logs(channel, runner_id, opts \\ []) do
    {timeout_ms, opts} = Keyword.pop(opts, :timeout, 30_000)
    req = struct!(Flame.V1.LogsRequest, Request.logs(runner_id, opts))

    case Stub.logs(channel, req, timeout: timeout_ms) do
      {:ok, stream} ->
        Enum.reduce_while(stream, {:ok, []}, fn
          {:ok, resp}, {:ok, acc} ->
            case Request.log_chunk(resp) do
              :unknown -> {:cont, {:ok, acc}}
              chunk -> {:cont, {:ok, [chunk | acc]}}
            end

          {:error, error}, _acc ->
            {:halt, {:error, error_reason(error)}}

          _headers_or_trailers, acc ->
            {:cont, acc}
        end)
        |> case do
          {:ok, chunks} -> {:ok, Enum.reverse(chunks)}
          error -> error
        end

      {:error, error} ->
        {:error, error_reason(error)}
    end
  end

  @doc """
  Streams one runner's container output to `to` from a linked process, as
  `watch/5` does its events: each chunk as `{:flamed_logs, ref, {:stdout, binary}}`
  or `{:flamed_logs, ref, {:stderr, binary}}` (stdout and stderr kept apart, each
  in order), and when the stream ends `{:flamed_logs_down, ref, reason}`:
  `:closed` when flamed ended it (all the output, or with `follow: true` the
  runner's container stopped), or `{:error, {code, message}}` as `logs/3` lists
  them. Returns the process.

  `opts`: `:follow`, `:tail`, `:since`, `:timestamps` (`Flamed.Request.logs/2`) and
  `:timeout`, the call's deadline in **ms** (default `:infinity`). To stop a
  follow earlier, `disconnect/1` its channel (a channel of its own, then): flamed
  sees the cancel and stops reading Docker's logs. flamed has one chunk (at most
  64 KiB) in flight at a time, but grpc-elixir's Gun connection takes chunks as
  they arrive, so a `to` slower than the output lets its mailbox grow: bound a
  large past output with `:tail` or `:since`. Raises `ArgumentError` for a bad
  option, in the caller.
  Follows: Docker Engine API ContainerLogs (`follow=1`).
  """
  @spec logs(channel(), String.t(), keyword(), pid(), reference()) :: pid()
  def logs(channel, runner_id, opts, to, ref) do
    {timeout_ms, opts} = Keyword.pop(opts, :timeout, :infinity)
    req = struct!(Flame.V1.LogsRequest, Request.logs(runner_id, opts))

    spawn_link(fn ->
      reason =
        try do
          case Stub.logs(channel, req, timeout: timeout_ms) do
            {:ok, stream} ->
              Enum.each(stream, fn
                {:ok, resp} ->
                  case Request.log_chunk(resp) do
                    :unknown -> :ok
                    chunk -> send(to, {:flamed_logs, ref, chunk})
                  end

                {:error, error} ->
                  throw({:error, error_reason(error)})

                _headers_or_trailers ->
                  :ok
              end)

              :closed

            {:error, error} ->
              {:error, error_reason(error)}
          end
        catch
          {:error, _} = e -> e
          kind, value -> {kind, value}
        end

      send(to, {:flamed_logs_down, ref, reason})
    end)
  end

  @doc "A `flame.v1.Runner` reply as a plain map (state as `Flamed.Request.event/1` names it)."
  @spec runner(map()) :: map()
  def runner(%{} = r) do
    %{
      id: r.id,
      container_id: r.container_id,
      name: r.name,
      pool: r.pool,
      image: r.image,
      network: r.network,
      ip_address: r.ip_address,
      state: Request.event(%{type: :RUNNER_EVENT_TYPE_EXISTING, runner: r}).state,
      labels: Map.new(r.labels || %{}),
      exit_code: r.exit_code,
      oom_killed: r.oom_killed,
      keep_runner: r.keep_runner,
      created_unix_nano: r.created_unix_nano,
      error: r.error,
      request_id: r.request_id,
      parent_id: r.parent_id,
      lease_ttl_ms: r.lease_ttl_ms,
      # Made ahead from a warm pool (`flamed --pools`) and taken by its Boot.
      warm: Map.get(r, :warm, false)
    }
  end

  defp reply({:ok, %{runner: runner}}), do: {:ok, runner(runner)}
  defp reply({:ok, other}), do: {:ok, other}
  defp reply({:error, error}), do: {:error, error_reason(error)}

  defp error_reason(%{__struct__: GRPC.RPCError, status: status, message: message}),
    do: {Request.status_name(status), message || ""}

  defp error_reason(other), do: {:unreachable, other}

  defp pb_placement(nil), do: nil

  defp pb_placement(%{constraints: constraints, preferences: prefs}),
    do:
      struct!(Flame.V1.Placement,
        constraints: constraints,
        preferences: Enum.map(prefs, &struct!(Flame.V1.PlacementPreference, &1))
      )

  # %{fields: %{k => kind}} (Flamed.Request.struct_value/1) -> Google.Protobuf.Struct
  defp pb_struct(nil), do: nil

  defp pb_struct(%{fields: fields}) do
    struct!(Google.Protobuf.Struct,
      fields: Map.new(fields, fn {k, kind} -> {k, pb_value(kind)} end)
    )
  end

  defp pb_value({:struct_value, s}),
    do: struct!(Google.Protobuf.Value, kind: {:struct_value, pb_struct(s)})

  defp pb_value({:list_value, %{values: values}}) do
    list = struct!(Google.Protobuf.ListValue, values: Enum.map(values, &pb_value/1))
    struct!(Google.Protobuf.Value, kind: {:list_value, list})
  end

  defp pb_value(kind), do: struct!(Google.Protobuf.Value, kind: kind)
end
