defmodule Flamed.Config do
  @moduledoc """
  The options of `Flamed.Backend`, merged and validated.

  `config :flame, Flamed.Backend, ...` (the application environment) is merged with
  the options a pool gives (`backend: {Flamed.Backend, opts}`): a pool's option
  replaces the application's, except `:env` and `:labels`, which are merged key by
  key (the pool's win). `new/2` checks every option and says what is wrong and how
  to fix it. This module depends on nothing but Elixir.

  ## Options

    * `:image` - the runner image, normally the parent's own (required).
    * `:network` - the user-defined Docker network the runners join (required:
      the parent and its runners find each other by name through Docker's DNS, which
      the default bridge does not offer). The parent must be reachable on it.
    * `:addr` - flamed's address: `"unix:/path"`, `"/path"` or `"host:port"`.
      Default `"unix:/run/flamed/flamed.sock"`.
    * `:pool` - the flamed pool name (`[a-z0-9][a-z0-9_.-]*`, at most 40 bytes).
      Default `"default"`.
    * `:env` - extra environment for runners, a map or keyword list of name => value.
      These win over what `Flamed.Env` sets, except `FLAME_PARENT`, which is refused.
    * `:cmd`, `:entrypoint` - lists of strings replacing the image's CMD / ENTRYPOINT.
    * `:host_config` - a Docker HostConfig map with Engine API names
      (`%{"Memory" => 512 * 1024 * 1024, "NanoCpus" => 1_500_000_000}`); flamed refuses
      the fields it owns and unknown ones, naming them.
    * `:mounts` - a list of Docker Mount maps
      (`%{"Type" => "volume", "Source" => "cache", "Target" => "/cache"}`).
    * `:labels` - extra Docker labels (keys under `flamed.` are flamed's).
    * `:placement` - where runners may run, for `flamed --engine swarm` only
      (Docker Swarm's placement; flamed's policy must allow it):
      `[constraints: ["node.role==worker"], preferences: ["node.labels.zone"]]`,
      each preference a spread descriptor (or `%{spread: "node.labels.zone"}`).
      Default `nil` (anywhere). flamed on one Docker Engine refuses a placement.
    * `:boot_timeout` - ms from Boot until the runner has connected back. Default 30_000.
    * `:shutdown_timeout` - kept for compatibility; no longer used for a runner that
      failed to connect back (see `:boot_failure_grace`). Default 10_000.
    * `:boot_failure_grace` - ms of grace (SIGTERM to SIGKILL) when the backend stops a
      runner that did not connect back within `:boot_timeout`: it never ran work, so
      FLAME should not wait long for it. Default 1_000.
    * `:lease_ttl` - ms; with it flamed shuts a runner down when its parent has
      neither an open Watch (the backend keeps one per runner, with the parent's
      node name as `parent_id`) nor renewed for this long: a server-side failsafe
      besides FLAME's own Terminator. At least 100; default 0 (no lease).
    * `:max_lifetime` - ms after which flamed shuts a runner down whatever it does;
      default 0 (none).
    * `:spawn_idle_shutdown_after` - ms with no **flamed Spawn** running after which
      flamed shuts a runner down (the proto's `idle_shutdown_after_ms`); default 0
      (never). This is not FLAME's idle shutdown: FLAME runs work over Erlang
      distribution, never through Spawn, so a FLAME pool leaves it at 0 and sets the
      pool's own `idle_shutdown_after:` (`{FLAME.Pool, idle_shutdown_after: 30_000, ...}`),
      which FLAME's Terminator enforces on the runner.
    * `:idle_shutdown_after` - **deprecated** alias of `:spawn_idle_shutdown_after`
      (same meaning, renamed because it was mistaken for the pool's option). Giving
      both is an error; `Flamed.Backend` logs a warning when it is used.
    * `:pull_policy` - `:if_not_present` (default), `:always` or `:never`.
    * `:keep_runner` - keep containers after they exit, for debugging. Default false.
    * `:user`, `:working_dir` - Docker's User and WorkingDir.
    * `:runner_node` - how the runner's node name is set (see `Flamed.Env`):
      `:auto` (default: `:erl_aflags` when the parent uses short names, `:release`
      with long names), `:erl_aflags` or `:release`.
    * `:connect_opts` - options for `GRPC.Stub.connect/2` (e.g. `adapter_opts`).
    * `:log` - a Logger level to log boot steps at, or false (default). FLAME.Pool
      0.5.3 always puts its own `:log` (the pool's `log:` option, default false) over
      a `:log` given in `backend: {Flamed.Backend, ...}`: so set `log:` on the pool,
      in `config :flame, Flamed.Backend` (a pool's `false` does not turn that off),
      or use `:backend_log`.
    * `:backend_log` - like `:log`, for this backend only, and FLAME leaves it alone:
      `backend: {Flamed.Backend, backend_log: :info}` works whatever the pool's
      `log:`. When given, it wins over `:log`.
    * `:terminator_sup` - accepted and ignored (older FLAME versions pass it).
  """

  @type t :: %__MODULE__{
          image: String.t(),
          network: String.t(),
          addr: String.t(),
          pool: String.t(),
          env: %{String.t() => String.t()},
          cmd: [String.t()],
          entrypoint: [String.t()],
          host_config: map() | nil,
          mounts: [map()],
          labels: %{String.t() => String.t()},
          placement: %{constraints: [String.t()], preferences: [String.t()]} | nil,
          boot_timeout: pos_integer(),
          shutdown_timeout: pos_integer(),
          lease_ttl: non_neg_integer(),
          max_lifetime: non_neg_integer(),
          spawn_idle_shutdown_after: non_neg_integer(),
          boot_failure_grace: non_neg_integer(),
          pull_policy: :if_not_present | :always | :never,
          keep_runner: boolean(),
          user: String.t() | nil,
          working_dir: String.t() | nil,
          runner_node: :auto | :erl_aflags | :release,
          connect_opts: keyword(),
          log: false | atom(),
          deprecated: [atom()]
        }

  @enforce_keys [:image, :network]
  defstruct image: nil,
            network: nil,
            addr: "unix:/run/flamed/flamed.sock",
            pool: "default",
            env: %{},
            cmd: [],
            entrypoint: [],
            host_config: nil,
            mounts: [],
            labels: %{},
            placement: nil,
            boot_timeout: 30_000,
            shutdown_timeout: 10_000,
            lease_ttl: 0,
            max_lifetime: 0,
            spawn_idle_shutdown_after: 0,
            boot_failure_grace: 1_000,
            pull_policy: :if_not_present,
            keep_runner: false,
            user: nil,
            working_dir: nil,
            runner_node: :auto,
            connect_opts: [],
            log: false,
            deprecated: []

  @keys [
    :image,
    :network,
    :addr,
    :pool,
    :env,
    :cmd,
    :entrypoint,
    :host_config,
    :mounts,
    :labels,
    :placement,
    :boot_timeout,
    :shutdown_timeout,
    :lease_ttl,
    :max_lifetime,
    :spawn_idle_shutdown_after,
    :idle_shutdown_after,
    :boot_failure_grace,
    :pull_policy,
    :keep_runner,
    :user,
    :working_dir,
    :runner_node,
    :connect_opts,
    :log,
    :backend_log,
    :terminator_sup
  ]
  @merged [:env, :labels]
  @max_u32 4_294_967_295
  @max_u64 18_446_744_073_709_551_615
  @log_levels [:emergency, :alert, :critical, :error, :warning, :warn, :notice, :info, :debug]

  @doc "The option names `new/2` accepts."
  def keys, do: @keys

  @doc """
  Merges `app_env` (from `config :flame, Flamed.Backend`) with a pool's `opts` and
  validates the result. Returns `{:ok, config}` or `{:error, message}`.
  """
  @spec new(keyword(), keyword()) :: {:ok, t()} | {:error, String.t()}
  def new(app_env, opts) do
    with :ok <- keyword(app_env, "config :flame, Flamed.Backend"),
         :ok <- keyword(opts, "the pool's backend options"),
         merged = merge(app_env, opts),
         :ok <- known_keys(merged),
         {:ok, merged, deprecated} <- aliases(merged),
         {:ok, config} <- validate(merged) do
      {:ok, %__MODULE__{config | deprecated: deprecated}}
    end
  end

  @doc "Like `new/2` but raises `ArgumentError`."
  @spec new!(keyword(), keyword()) :: t()
  def new!(app_env, opts) do
    case new(app_env, opts) do
      {:ok, config} -> config
      {:error, message} -> raise ArgumentError, message
    end
  end

  defp keyword(list, what) do
    if is_list(list) and Keyword.keyword?(list),
      do: :ok,
      else: err("#{what} must be a keyword list, got: #{inspect(list)}")
  end

  defp merge(app_env, opts) do
    Keyword.merge(app_env, opts, fn
      # FLAME.Pool passes log: false unless the pool sets log:, over the backend's own
      :log, a, false ->
        a

      key, a, b when key in @merged and (is_map(a) or is_list(a)) and (is_map(b) or is_list(b)) ->
        if map_like?(a) and map_like?(b), do: Map.merge(string_keys(a), string_keys(b)), else: b

      _key, _a, b ->
        b
    end)
  end

  defp string_keys(pairs),
    do: Map.new(pairs, fn {k, v} -> {if(is_atom(k), do: Atom.to_string(k), else: k), v} end)

  defp map_like?(m) when is_map(m), do: true
  defp map_like?(l) when is_list(l), do: Enum.all?(l, &match?({_, _}, &1))

  # :idle_shutdown_after -> :spawn_idle_shutdown_after (deprecated name);
  # :backend_log -> :log (FLAME.Pool overwrites :log, never :backend_log).
  defp aliases(opts) do
    with {:ok, opts, deprecated} <- idle_alias(opts),
         {:ok, opts} <- backend_log(opts) do
      {:ok, opts, deprecated}
    end
  end

  defp idle_alias(opts) do
    case {Keyword.fetch(opts, :idle_shutdown_after),
          Keyword.has_key?(opts, :spawn_idle_shutdown_after)} do
      {:error, _} ->
        {:ok, opts, []}

      {{:ok, _}, true} ->
        err(
          ":idle_shutdown_after is the deprecated name of :spawn_idle_shutdown_after: " <>
            "give only :spawn_idle_shutdown_after"
        )

      {{:ok, v}, false} ->
        opts =
          opts
          |> Keyword.delete(:idle_shutdown_after)
          |> Keyword.put(:spawn_idle_shutdown_after, v)

        {:ok, opts, [:idle_shutdown_after]}
    end
  end

  defp backend_log(opts) do
    case Keyword.fetch(opts, :backend_log) do
      :error ->
        {:ok, opts}

      {:ok, v} ->
        with {:ok, v} <- log(v, :backend_log),
             do: {:ok, opts |> Keyword.delete(:backend_log) |> Keyword.put(:log, v)}
    end
  end

  defp known_keys(opts) do
    case Enum.reject(Keyword.keys(opts), &(&1 in @keys)) do
      [] ->
        :ok

      unknown ->
        err(
          "unknown option#{if length(unknown) > 1, do: "s", else: ""} " <>
            "#{Enum.map_join(unknown, ", ", &inspect/1)}; valid options: " <>
            Enum.map_join(@keys, ", ", &inspect/1)
        )
    end
  end

  defp validate(opts) do
    steps = [
      image: &required_string(&1, :image, ~s(the runner image, e.g. image: "myapp:latest")),
      network:
        &required_string(
          &1,
          :network,
          ~s{a user-defined Docker network shared with the parent, e.g. network: "myapp" } <>
            "(create it with `docker network create myapp`)"
        ),
      addr: &addr/1,
      pool: &pool/1,
      env: &env/1,
      cmd: &strings(&1, :cmd),
      entrypoint: &strings(&1, :entrypoint),
      host_config: &host_config/1,
      mounts: &mounts/1,
      labels: &labels/1,
      placement: &placement/1,
      boot_timeout: &ms(&1, :boot_timeout),
      shutdown_timeout: &ms(&1, :shutdown_timeout),
      lease_ttl: &lease_ttl/1,
      max_lifetime: &optional_ms(&1, :max_lifetime),
      spawn_idle_shutdown_after: &optional_ms(&1, :spawn_idle_shutdown_after),
      boot_failure_grace: &grace/1,
      pull_policy: &one_of(&1, :pull_policy, [:if_not_present, :always, :never]),
      keep_runner: &boolean(&1, :keep_runner),
      user: &optional_string(&1, :user),
      working_dir: &optional_string(&1, :working_dir),
      runner_node: &one_of(&1, :runner_node, [:auto, :erl_aflags, :release]),
      connect_opts: &connect_opts/1,
      log: &log(&1, :log)
    ]

    defaults = %__MODULE__{image: nil, network: nil}

    Enum.reduce_while(steps, {:ok, defaults}, fn {key, check}, {:ok, acc} ->
      value = Keyword.get(opts, key, Map.fetch!(defaults, key))

      case check.(value) do
        {:ok, v} -> {:cont, {:ok, Map.put(acc, key, v)}}
        {:error, _} = e -> {:halt, e}
      end
    end)
  end

  defp required_string(v, key, hint) do
    if is_binary(v) and String.trim(v) != "",
      do: {:ok, v},
      else: err(":#{key} is required: #{hint}#{got(v)}")
  end

  defp optional_string(nil, _key), do: {:ok, nil}
  defp optional_string(v, _key) when is_binary(v), do: {:ok, v}
  defp optional_string(v, key), do: err(":#{key} must be a string#{got(v)}")

  defp addr(v) when is_binary(v) do
    cond do
      String.starts_with?(v, "unix:") and
          String.trim_leading(String.replace_prefix(v, "unix:", ""), "/") != "" ->
        {:ok, v}

      String.starts_with?(v, "/") ->
        {:ok, v}

      Regex.match?(~r/^[^:\/\s]+:\d{1,5}$/, v) ->
        {:ok, v}

      true ->
        err(
          ~s{:addr must be "unix:/path/flamed.sock", "/path/flamed.sock" or "host:port"#{got(v)}}
        )
    end
  end

  defp addr(v), do: err(":addr must be a string#{got(v)}")

  defp pool(v) when is_binary(v) do
    if Regex.match?(~r/^[a-z0-9][a-z0-9_.-]*$/, v) and byte_size(v) <= 40,
      do: {:ok, v},
      else: err(":pool must match [a-z0-9][a-z0-9_.-]* and be at most 40 bytes#{got(v)}")
  end

  defp pool(v), do: err(":pool must be a string#{got(v)}")

  defp env(v) do
    with {:ok, pairs} <- pairs(v, :env) do
      Enum.reduce_while(pairs, {:ok, %{}}, fn {k, val}, {:ok, acc} ->
        name = to_string(k)

        cond do
          not Regex.match?(~r/^[A-Za-z_][A-Za-z0-9_]*$/, name) ->
            {:halt, err(":env name #{inspect(name)} is not a valid variable name")}

          name == "FLAME_PARENT" ->
            {:halt, err(":env must not set FLAME_PARENT: Flamed.Backend sets it for each runner")}

          true ->
            case scalar(val) do
              {:ok, s} -> {:cont, {:ok, Map.put(acc, name, s)}}
              :error -> {:halt, err(":env #{name} must be a string, number or atom#{got(val)}")}
            end
        end
      end)
    end
  end

  defp labels(v) do
    with {:ok, pairs} <- pairs(v, :labels) do
      Enum.reduce_while(pairs, {:ok, %{}}, fn {k, val}, {:ok, acc} ->
        key = to_string(k)

        cond do
          key == "" ->
            {:halt, err(":labels keys must not be empty")}

          String.starts_with?(key, "flamed.") ->
            {:halt,
             err(":labels key #{inspect(key)} is reserved: keys under \"flamed.\" are flamed's")}

          true ->
            case scalar(val) do
              {:ok, s} -> {:cont, {:ok, Map.put(acc, key, s)}}
              :error -> {:halt, err(":labels #{key} must be a string#{got(val)}")}
            end
        end
      end)
    end
  end

  @placement_hint ~s|e.g. placement: [constraints: ["node.role==worker"], | <>
                    ~s|preferences: ["node.labels.zone"]]|

  defp placement(nil), do: {:ok, nil}

  defp placement(v) when is_map(v) or is_list(v) do
    with {:ok, pairs} <- pairs(v, :placement),
         pairs = Enum.map(pairs, fn {k, x} -> {to_string(k), x} end),
         [] <- Enum.map(pairs, &elem(&1, 0)) -- ["constraints", "preferences"],
         {:ok, constraints} <-
           placement_strings(Map.get(Map.new(pairs), "constraints", []), :constraints),
         {:ok, preferences} <- spreads(Map.get(Map.new(pairs), "preferences", [])) do
      {:ok, %{constraints: constraints, preferences: preferences}}
    else
      {:error, _} = e -> e
      unknown -> err(":placement has unknown key(s) #{inspect(unknown)}: #{@placement_hint}")
    end
  end

  defp placement(v),
    do: err(":placement must be a keyword list or map: #{@placement_hint}#{got(v)}")

  defp placement_strings(v, key) do
    if is_list(v) and Enum.all?(v, &is_binary/1),
      do: {:ok, v},
      else: err(":placement #{key} must be a list of strings: #{@placement_hint}#{got(v)}")
  end

  defp spreads(v) when is_list(v) do
    Enum.reduce_while(v, {:ok, []}, fn
      s, {:ok, acc} when is_binary(s) ->
        {:cont, {:ok, acc ++ [s]}}

      %{spread: s}, {:ok, acc} when is_binary(s) ->
        {:cont, {:ok, acc ++ [s]}}

      %{"spread" => s}, {:ok, acc} when is_binary(s) ->
        {:cont, {:ok, acc ++ [s]}}

      x, _ ->
        {:halt, err(":placement preferences are spread descriptors: #{@placement_hint}#{got(x)}")}
    end)
  end

  defp spreads(v), do: placement_strings(v, :preferences)

  defp pairs(v, _key) when is_map(v), do: {:ok, Enum.to_list(v)}

  defp pairs(v, key) when is_list(v) do
    if Enum.all?(v, &match?({k, _} when is_atom(k) or is_binary(k), &1)),
      do: {:ok, v},
      else: err(":#{key} must be a map or keyword list of name => value#{got(v)}")
  end

  defp pairs(v, key), do: err(":#{key} must be a map or keyword list of name => value#{got(v)}")

  defp scalar(v) when is_binary(v), do: {:ok, v}
  defp scalar(v) when is_number(v), do: {:ok, to_string(v)}
  defp scalar(v) when is_atom(v) and not is_nil(v), do: {:ok, Atom.to_string(v)}
  defp scalar(_), do: :error

  defp strings(v, key) do
    if is_list(v) and Enum.all?(v, &is_binary/1),
      do: {:ok, v},
      else: err(":#{key} must be a list of strings#{got(v)}")
  end

  defp host_config(nil), do: {:ok, nil}

  defp host_config(v) when is_map(v) do
    case json_object(v, "host_config") do
      {:ok, m} -> {:ok, m}
      {:error, _} = e -> e
    end
  end

  defp host_config(v),
    do:
      err(
        ~s|:host_config must be a map of Docker HostConfig fields, e.g. %{"Memory" => 536870912}#{got(v)}|
      )

  defp mounts(v) when is_list(v) do
    v
    |> Enum.with_index()
    |> Enum.reduce_while({:ok, []}, fn {m, i}, {:ok, acc} ->
      what = "mounts[#{i}]"

      if is_map(m) do
        case json_object(m, what) do
          {:ok, obj} -> {:cont, {:ok, acc ++ [obj]}}
          e -> {:halt, e}
        end
      else
        {:halt,
         err(
           ~s|:#{what} must be a Docker Mount map, e.g. %{"Type" => "volume", "Source" => "v", "Target" => "/data"}#{got(m)}|
         )}
      end
    end)
  end

  defp mounts(v), do: err(":mounts must be a list of Docker Mount maps#{got(v)}")

  # A map whose keys become strings and whose values are JSON values (what a
  # google.protobuf.Struct holds): nil, booleans, numbers, strings, lists, maps.
  defp json_object(map, path) do
    Enum.reduce_while(map, {:ok, %{}}, fn {k, v}, {:ok, acc} ->
      if is_binary(k) or is_atom(k) do
        key = to_string(k)

        case json_value(v, "#{path}.#{key}") do
          {:ok, jv} -> {:cont, {:ok, Map.put(acc, key, jv)}}
          e -> {:halt, e}
        end
      else
        {:halt, err(":#{path} keys must be strings or atoms#{got(k)}")}
      end
    end)
  end

  defp json_value(v, _path) when is_nil(v) or is_boolean(v) or is_number(v) or is_binary(v),
    do: {:ok, v}

  defp json_value(v, _path) when is_atom(v), do: {:ok, Atom.to_string(v)}
  defp json_value(v, path) when is_map(v), do: json_object(v, path)

  defp json_value(v, path) when is_list(v) do
    v
    |> Enum.with_index()
    |> Enum.reduce_while({:ok, []}, fn {x, i}, {:ok, acc} ->
      case json_value(x, "#{path}[#{i}]") do
        {:ok, jx} -> {:cont, {:ok, acc ++ [jx]}}
        e -> {:halt, e}
      end
    end)
  end

  defp json_value(v, path),
    do: err(":#{path} must be a JSON value (nil, boolean, number, string, list or map)#{got(v)}")

  defp ms(v, _key) when is_integer(v) and v > 0 and v <= @max_u32, do: {:ok, v}

  defp ms(v, key),
    do: err(":#{key} must be a positive integer of milliseconds (at most #{@max_u32})#{got(v)}")

  defp optional_ms(v, _key) when is_integer(v) and v >= 0 and v <= @max_u64, do: {:ok, v}

  defp optional_ms(v, key),
    do: err(":#{key} must be 0 (none) or a positive integer of milliseconds#{got(v)}")

  defp grace(v) when is_integer(v) and v >= 0 and v <= @max_u32, do: {:ok, v}

  defp grace(v),
    do: err(":boot_failure_grace must be 0 or more milliseconds (at most #{@max_u32})#{got(v)}")

  defp lease_ttl(0), do: {:ok, 0}
  defp lease_ttl(v) when is_integer(v) and v >= 100 and v <= @max_u32, do: {:ok, v}

  defp lease_ttl(v),
    do: err(":lease_ttl must be 0 (no lease) or at least 100 ms (at most #{@max_u32})#{got(v)}")

  defp one_of(v, key, allowed) do
    if v in allowed,
      do: {:ok, v},
      else: err(":#{key} must be one of #{Enum.map_join(allowed, ", ", &inspect/1)}#{got(v)}")
  end

  defp boolean(v, _key) when is_boolean(v), do: {:ok, v}
  defp boolean(v, key), do: err(":#{key} must be true or false#{got(v)}")

  defp connect_opts(v) do
    if is_list(v) and Keyword.keyword?(v),
      do: {:ok, v},
      else: err(":connect_opts must be a keyword list for GRPC.Stub.connect/2#{got(v)}")
  end

  defp log(false, _key), do: {:ok, false}
  defp log(v, _key) when v in @log_levels, do: {:ok, v}

  defp log(v, key),
    do: err("#{inspect(key)} must be false or a Logger level (:info, :debug, ...)#{got(v)}")

  defp got(v), do: ", got: #{inspect(v)}"

  defp err(message), do: {:error, "Flamed.Backend: " <> message}
end
