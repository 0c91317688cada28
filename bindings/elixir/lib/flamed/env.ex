defmodule Flamed.Env do
  @moduledoc """
  The environment of a runner container: what makes a copy of the app start as a
  FLAME runner that connects back to its parent.

    * `FLAME_PARENT` - the encoded `FLAME.Parent` (`FLAME.Parent.encode/1`), passed
      byte for byte; FLAME's Terminator on the runner decodes it, connects to the
      parent node and sends `{ref, {:remote_up, pid}}`.
    * `RELEASE_COOKIE` - the parent's cookie (it is not in `FLAME_PARENT`).
    * `RELEASE_DISTRIBUTION` (`sname` or `name`, as the parent) and `RELEASE_NODE`
      (the node base): a `mix release` started with them names its node
      `node_base@<hostname>`, and flamed sets the hostname to the container's name,
      which is its DNS alias on the network.
    * `PHX_SERVER=false` - a runner does not serve HTTP.
    * `ERL_AFLAGS` / `ERL_ZFLAGS` - the parent's own, as FLAME's Fly and Docker
      backends pass them (for `-proto_dist`, `+K`, ...), minus the flags that name the
      parent (`-name`, `-sname`, `-setcookie`, each with its argument). In
      `:erl_aflags` mode `ERL_AFLAGS` starts with `-sname NODE_BASE -setcookie COOKIE`,
      so any start command (`elixir`, `mix`, `iex`, a release) names the node; OTP
      uses the first `-sname` it is given, so a release's own `-sname` loses (with a
      warning).
    * the configured `:env`, which wins over all of the above.

  Node names: with short names (`--sname`) everything works by container name. Long
  names need a host with a dot or an IP, and a container's name has neither, so with
  long names (`:release` mode) the image must finish the name itself, e.g. in
  `rel/env.sh.eex`: `[ -n "$FLAME_PARENT" ] && export RELEASE_NODE="$RELEASE_NODE@$(hostname -i)"`.

  Depends on nothing but Elixir.
  """

  @doc """
  Builds the runner's environment.

  Options (all required except `:parent_env`):

    * `:parent` - the encoded `FLAME_PARENT` string
    * `:node_base` - the runner's node base (`Flamed.NodeBase.new/0`)
    * `:cookie` - the parent's cookie (atom or string)
    * `:distribution` - `:sname` or `:name`, the parent's mode
    * `:parent_env` - the parent's OS environment (`System.get_env/0`), for
      `ERL_AFLAGS`/`ERL_ZFLAGS`; default `%{}`

  Returns `{:ok, %{name => value}}` or `{:error, message}`.
  """
  @spec build(Flamed.Config.t(), keyword()) ::
          {:ok, %{String.t() => String.t()}} | {:error, String.t()}
  def build(%Flamed.Config{} = config, opts) do
    parent = Keyword.fetch!(opts, :parent)
    node_base = Keyword.fetch!(opts, :node_base)
    cookie = to_string(Keyword.fetch!(opts, :cookie))
    dist = Keyword.fetch!(opts, :distribution)
    parent_env = Keyword.get(opts, :parent_env, %{})

    with :ok <- check_dist(dist),
         :ok <- check_node_base(node_base),
         {:ok, mode} <- mode(config.runner_node, dist),
         :ok <- check_cookie(cookie, mode) do
      base = %{
        "FLAME_PARENT" => parent,
        "PHX_SERVER" => "false",
        "RELEASE_COOKIE" => cookie,
        "RELEASE_DISTRIBUTION" => Atom.to_string(dist),
        "RELEASE_NODE" => node_base
      }

      aflags = strip_node_flags(Map.get(parent_env, "ERL_AFLAGS", ""))
      zflags = strip_node_flags(Map.get(parent_env, "ERL_ZFLAGS", ""))

      aflags =
        case mode do
          :erl_aflags ->
            Enum.join(["-#{dist} #{node_base} -setcookie #{cookie}", aflags] -- [""], " ")

          :release ->
            aflags
        end

      env =
        base
        |> put_unless_empty("ERL_AFLAGS", aflags)
        |> put_unless_empty("ERL_ZFLAGS", zflags)
        |> Map.merge(config.env)

      {:ok, env}
    end
  end

  @doc """
  The mode `runner_node: :auto` means for a parent in `distribution` mode:
  `:erl_aflags` with short names, `:release` with long names.
  """
  @spec mode(:auto | :erl_aflags | :release, :sname | :name) ::
          {:ok, :erl_aflags | :release} | {:error, String.t()}
  def mode(:auto, :sname), do: {:ok, :erl_aflags}
  def mode(:auto, :name), do: {:ok, :release}
  def mode(:release, _dist), do: {:ok, :release}
  def mode(:erl_aflags, :sname), do: {:ok, :erl_aflags}

  def mode(:erl_aflags, :name) do
    {:error,
     "Flamed.Backend: runner_node: :erl_aflags needs a parent with short names (--sname): " <>
       "a long name needs a dotted host or an IP, which a container's name is not; " <>
       "use runner_node: :release and set RELEASE_NODE to NODE_BASE@$(hostname -i) in rel/env.sh.eex"}
  end

  @doc """
  The distribution mode of a node name: `:sname` or `:name`, or `:none` for
  `:nonode@nohost`. (On a live node, `:net_kernel.longnames/0` says the same.)
  """
  @spec distribution(node()) :: :sname | :name | :none
  def distribution(:nonode@nohost), do: :none

  def distribution(node) when is_atom(node) do
    [_name, host] = node |> Atom.to_string() |> String.split("@", parts: 2)
    if String.contains?(host, "."), do: :name, else: :sname
  end

  @doc """
  Removes the flags that name a node from an `ERL_AFLAGS`/`ERL_ZFLAGS` string:
  `-name`, `-sname` and `-setcookie`, each with its argument.
  """
  @spec strip_node_flags(String.t()) :: String.t()
  def strip_node_flags(flags) do
    flags
    |> String.split()
    |> drop_flags([])
    |> Enum.join(" ")
  end

  defp drop_flags([flag, _arg | rest], acc) when flag in ["-name", "-sname", "-setcookie"],
    do: drop_flags(rest, acc)

  defp drop_flags([flag], acc) when flag in ["-name", "-sname", "-setcookie"],
    do: Enum.reverse(acc)

  defp drop_flags([x | rest], acc), do: drop_flags(rest, [x | acc])
  defp drop_flags([], acc), do: Enum.reverse(acc)

  defp put_unless_empty(env, _key, ""), do: env
  defp put_unless_empty(env, key, value), do: Map.put(env, key, value)

  defp check_dist(d) when d in [:sname, :name], do: :ok

  defp check_dist(:none) do
    {:error,
     "Flamed.Backend: the parent node is not distributed: start it with --sname (or --name) " <>
       "and a cookie; runners connect back over Erlang distribution"}
  end

  defp check_dist(other),
    do: {:error, "Flamed.Backend: distribution must be :sname or :name, got: #{inspect(other)}"}

  defp check_node_base(nb) do
    if Flamed.NodeBase.valid?(nb),
      do: :ok,
      else: {:error, "Flamed.Backend: invalid node base #{inspect(nb)}"}
  end

  # ERL_AFLAGS is split on white space: a cookie with any cannot go in it.
  defp check_cookie(cookie, :erl_aflags) do
    if cookie != "" and not String.match?(cookie, ~r/[\s"'\\]/),
      do: :ok,
      else:
        {:error,
         "Flamed.Backend: the cookie has white space or quotes, which ERL_AFLAGS cannot carry: " <>
           "use a plain cookie, or runner_node: :release (RELEASE_COOKIE only)"}
  end

  defp check_cookie(_cookie, :release), do: :ok
end
