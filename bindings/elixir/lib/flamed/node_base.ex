defmodule Flamed.NodeBase do
  @moduledoc """
  The node base name a parent gives a runner: the runner's node is
  `node_base@$HOSTNAME` (`host_env: "HOSTNAME"` in `FLAME.Parent`), and flamed sets
  the container's hostname to its name, which is also its DNS alias on the network.

  `new/0` makes `"flame-"` plus 20 random lowercase hex digits, the form FLAME's own
  Docker backend uses, so two runners of any number of parents never share a node
  name. Depends on nothing but Elixir and OTP's `:crypto`.
  """

  @prefix "flame"

  @doc "A fresh node base: `prefix-` and 20 random lowercase hex digits."
  @spec new(String.t()) :: String.t()
  def new(prefix \\ @prefix) do
    unless valid?(prefix), do: raise(ArgumentError, "invalid node base prefix #{inspect(prefix)}")
    prefix <> "-" <> (10 |> :crypto.strong_rand_bytes() |> Base.encode16(case: :lower))
  end

  @doc """
  True if `name` can be the name part of a node name (`name@host`): letters, digits,
  `_` and `-`, at most 200 bytes (an atom holds 255 with the host).
  """
  @spec valid?(term()) :: boolean()
  def valid?(name) when is_binary(name),
    do: byte_size(name) in 1..200 and Regex.match?(~r/^[A-Za-z0-9_-]+$/, name)

  def valid?(_), do: false
end
