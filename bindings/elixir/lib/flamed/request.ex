defmodule Flamed.Request do
  @moduledoc """
  flamed requests as plain maps with the proto's field names
  (proto/flame/v1/runner_service.proto), and flamed's events as plain maps.

  `Flamed.Client` turns these maps into the generated `Flame.V1.*` structs
  (`struct!/2`), so everything here is testable without the protobuf library.
  `google.protobuf.Struct` fields (`host_config`, `mounts`) come out as
  `%{fields: %{key => kind}}`, where a kind is the `Google.Protobuf.Value` oneof as
  protobuf-elixir holds it: `{:null_value, :NULL_VALUE}`, `{:number_value, float}`,
  `{:string_value, s}`, `{:bool_value, b}`, `{:struct_value, %{fields: ...}}` or
  `{:list_value, %{values: [kind]}}`.

  Depends on nothing but Elixir.
  """

  alias Flamed.Config

  @pull_policy %{
    if_not_present: :PULL_POLICY_IF_NOT_PRESENT,
    always: :PULL_POLICY_ALWAYS,
    never: :PULL_POLICY_NEVER
  }

  @doc """
  The BootRequest for one runner of `config` with environment `env`
  (`Flamed.Env.build/2`).

  Options: `:node_base` (the runner's, required) and `:parent_node` (default
  `node()`). The node base is the request's `request_id` (a retried Boot returns
  the same runner) and the label `flame.node_base`; the parent node is its
  `parent_id` (`parent_id/1`: the lease's owner) and the label `flame.parent`.
  """
  @spec boot(Config.t(), %{String.t() => String.t()}, keyword()) :: map()
  def boot(%Config{} = config, env, opts) do
    node_base = Keyword.fetch!(opts, :node_base)
    parent_node = Keyword.get(opts, :parent_node, node())

    labels =
      Map.merge(
        %{"flame.node_base" => node_base, "flame.parent" => to_string(parent_node)},
        config.labels
      )

    %{
      image: config.image,
      network: config.network,
      pool: config.pool,
      env: env,
      cmd: config.cmd,
      host_config: if(config.host_config, do: struct_value(config.host_config)),
      mounts: Enum.map(config.mounts, &struct_value/1),
      labels: labels,
      boot_timeout_ms: config.boot_timeout,
      keep_runner: config.keep_runner,
      pull_policy: Map.fetch!(@pull_policy, config.pull_policy),
      entrypoint: config.entrypoint,
      user: config.user || "",
      working_dir: config.working_dir || "",
      request_id: node_base,
      parent_id: parent_id(parent_node),
      lease_ttl_ms: config.lease_ttl,
      max_lifetime_ms: config.max_lifetime,
      idle_shutdown_after_ms: config.spawn_idle_shutdown_after,
      placement: placement(config.placement)
    }
  end

  defp placement(nil), do: nil

  defp placement(%{constraints: constraints, preferences: spreads}),
    do: %{constraints: constraints, preferences: Enum.map(spreads, &%{spread: &1})}

  @doc """
  A parent's `parent_id` for flamed: its node name with any character flamed does
  not take (outside `[A-Za-z0-9_.:@/-]`) as `_`, at most 256 bytes.
  """
  @spec parent_id(node() | String.t()) :: String.t()
  def parent_id(node) do
    id = String.replace(to_string(node), ~r/[^A-Za-z0-9_.:@\/-]/u, "_")
    binary_part(id, 0, min(byte_size(id), 256))
  end

  @doc "The ShutdownRequest for a runner, with `grace_ms` between SIGTERM and SIGKILL."
  @spec shutdown(String.t(), non_neg_integer()) :: map()
  def shutdown(runner_id, grace_ms)
      when is_binary(runner_id) and is_integer(grace_ms) and grace_ms >= 0,
      do: %{runner_id: runner_id, timeout_ms: grace_ms}

  @doc """
  The WatchRequest for one runner's events, starting with its current state. With
  `parent_id`, the open stream also holds the leases of that parent's runners.
  """
  @spec watch(String.t(), String.t()) :: map()
  def watch(runner_id, parent_id \\ "") when is_binary(runner_id) and is_binary(parent_id),
    do: %{
      pool: "",
      runner_id: runner_id,
      include_existing: true,
      after_sequence: 0,
      parent_id: parent_id
    }

  @doc """
  The LogsRequest for one runner's container output (Docker ContainerLogs).

  Options:

    * `:follow` - keep the stream open and send new output until the runner's
      container stops (default `false`: the output so far, then the stream ends);
    * `:tail` - only the last N lines of the past output, stdout and stderr
      counted together (Docker's tail); `0` or `:all` (default): all of it;
    * `:since` - only output written at or after this time: a `DateTime`, or an
      integer in **ns** since the Unix epoch; `0` or `nil` (default): from the start;
    * `:timestamps` - prefix each line with Docker's RFC 3339 time and a space
      (default `false`).

  Raises `ArgumentError`, saying what to write, for an empty `runner_id`, an
  unknown option or a value out of range (`:tail` above 2^32 - 1, `:since` before
  the epoch).
  """
  @spec logs(String.t(), keyword()) :: map()
  def logs(runner_id, opts \\ [])

  def logs("", _opts),
    do: raise(ArgumentError, "Flamed logs: runner_id is empty: give the id Boot or List returned")

  def logs(runner_id, opts) when is_binary(runner_id) and is_list(opts) do
    case Keyword.keys(opts) -- [:follow, :tail, :since, :timestamps] do
      [] ->
        :ok

      unknown ->
        raise ArgumentError,
              "Flamed logs: unknown option(s) #{inspect(unknown)}: " <>
                "the options are :follow, :tail, :since, :timestamps"
    end

    %{
      runner_id: runner_id,
      follow: logs_bool(opts, :follow),
      tail_lines: logs_tail(Keyword.get(opts, :tail, 0)),
      since_unix_nano: logs_since(Keyword.get(opts, :since)),
      timestamps: logs_bool(opts, :timestamps)
    }
  end

  defp logs_bool(opts, key) do
    case Keyword.get(opts, key, false) do
      b when is_boolean(b) ->
        b

      v ->
        raise ArgumentError,
              "Flamed logs: #{inspect(key)} must be true or false, got #{inspect(v)}"
    end
  end

  defp logs_tail(:all), do: 0
  defp logs_tail(n) when is_integer(n) and n >= 0 and n <= 0xFFFFFFFF, do: n

  defp logs_tail(v),
    do:
      raise(
        ArgumentError,
        "Flamed logs: :tail must be a number of lines (0..4294967295) or :all, got #{inspect(v)}"
      )

  defp logs_since(nil), do: 0
  defp logs_since(%DateTime{} = t), do: logs_since(DateTime.to_unix(t, :nanosecond))
  defp logs_since(ns) when is_integer(ns) and ns >= 0 and ns < 0x8000000000000000, do: ns

  defp logs_since(v),
    do:
      raise(
        ArgumentError,
        "Flamed logs: :since must be a DateTime or ns since the Unix epoch (>= 0), got #{inspect(v)}"
      )

  @doc """
  A LogsResponse (a map or struct with the proto's field names) as
  `{:stdout, binary}` or `{:stderr, binary}`; `:unknown` for a response without
  either (a newer flamed's addition).
  """
  @spec log_chunk(map()) :: {:stdout | :stderr, binary()} | :unknown
  def log_chunk(%{event: {stream, data}}) when stream in [:stdout, :stderr] and is_binary(data),
    do: {stream, data}

  def log_chunk(_resp), do: :unknown

  @doc """
  A `google.protobuf.Struct` of a JSON-like map (string or atom keys; values nil,
  booleans, numbers, strings, atoms, lists, maps), as `%{fields: %{key => kind}}`.
  Numbers become floats: a Struct holds doubles (exact up to 2^53).
  """
  @spec struct_value(map()) :: %{fields: map()}
  def struct_value(map) when is_map(map) do
    %{fields: Map.new(map, fn {k, v} -> {to_string(k), kind(v)} end)}
  end

  defp kind(nil), do: {:null_value, :NULL_VALUE}
  defp kind(b) when is_boolean(b), do: {:bool_value, b}
  defp kind(n) when is_integer(n), do: {:number_value, n * 1.0}
  defp kind(n) when is_float(n), do: {:number_value, n}
  defp kind(s) when is_binary(s), do: {:string_value, s}
  defp kind(a) when is_atom(a), do: {:string_value, Atom.to_string(a)}
  defp kind(m) when is_map(m), do: {:struct_value, struct_value(m)}
  defp kind(l) when is_list(l), do: {:list_value, %{values: Enum.map(l, &kind/1)}}

  @status ~w(ok cancelled unknown invalid_argument deadline_exceeded not_found already_exists
              permission_denied resource_exhausted failed_precondition aborted out_of_range
              unimplemented internal unavailable data_loss unauthenticated)a

  @doc "A gRPC status code as an atom: 5 is `:not_found`, 9 `:failed_precondition`."
  @spec status_name(term()) :: atom()
  def status_name(code) when is_integer(code) and code in 0..16, do: Enum.at(@status, code)
  def status_name(_code), do: :unknown

  @event_types %{
    RUNNER_EVENT_TYPE_EXISTING: :existing,
    RUNNER_EVENT_TYPE_BOOTING: :booting,
    RUNNER_EVENT_TYPE_STARTED: :started,
    RUNNER_EVENT_TYPE_STOPPING: :stopping,
    RUNNER_EVENT_TYPE_EXITED: :exited,
    RUNNER_EVENT_TYPE_REMOVED: :removed,
    RUNNER_EVENT_TYPE_FAILED: :failed,
    RUNNER_EVENT_TYPE_PULLING: :pulling
  }
  @states %{
    RUNNER_STATE_BOOTING: :booting,
    RUNNER_STATE_RUNNING: :running,
    RUNNER_STATE_STOPPING: :stopping,
    RUNNER_STATE_EXITED: :exited,
    RUNNER_STATE_REMOVED: :removed,
    RUNNER_STATE_FAILED: :failed
  }

  @doc """
  A WatchResponse (as a map or struct with the proto's field names; enums as
  protobuf-elixir's atoms or as numbers) as a plain event:

      %{type: :exited, sequence: 7, runner_id: "...", name: "flame-pool-...",
        state: :exited, exit_code: 137, oom_killed: true, error: "", pull: nil, ended?: true}

  `pull` is set on `:pulling` events (a Boot pulling its image):
  `%{image: ..., bytes_done: ..., bytes_total: ..., layers: ..., layers_done: ...}`.

  `ended?` is true when the runner's container is gone or going: the event is
  EXITED, REMOVED or FAILED, or an EXISTING event for a runner in one of those states.
  """
  @spec event(map()) :: map()
  def event(%{type: type, runner: runner} = resp) do
    runner = runner || %{}

    type =
      enum(type, @event_types, [
        :unspecified,
        :existing,
        :booting,
        :started,
        :exited,
        :removed,
        :failed,
        :stopping,
        :pulling
      ])

    state =
      enum(Map.get(runner, :state), @states, [
        :unspecified,
        :booting,
        :running,
        :stopping,
        :exited,
        :removed,
        :failed
      ])

    %{
      type: type,
      sequence: Map.get(resp, :sequence, 0),
      runner_id: Map.get(runner, :id, ""),
      name: Map.get(runner, :name, ""),
      ip_address: Map.get(runner, :ip_address, ""),
      state: state,
      exit_code: Map.get(runner, :exit_code, 0),
      oom_killed: Map.get(runner, :oom_killed, false),
      error: Map.get(runner, :error, ""),
      pull: pull(Map.get(resp, :pull)),
      ended?:
        type in [:exited, :removed, :failed] or
          (type == :existing and state in [:exited, :removed, :failed])
    }
  end

  # PULLING events: how far the Boot's image pull has come; nil otherwise.
  defp pull(nil), do: nil

  defp pull(p) do
    %{
      image: Map.get(p, :image, ""),
      bytes_done: Map.get(p, :bytes_done, 0),
      bytes_total: Map.get(p, :bytes_total, 0),
      layers: Map.get(p, :layers, 0),
      layers_done: Map.get(p, :layers_done, 0)
    }
  end

  defp enum(v, names, _by_number) when is_atom(v) and is_map_key(names, v),
    do: Map.fetch!(names, v)

  defp enum(v, _names, by_number) when is_integer(v) and v >= 0 and v < length(by_number),
    do: Enum.at(by_number, v)

  defp enum(_v, _names, _by_number), do: :unspecified
end
