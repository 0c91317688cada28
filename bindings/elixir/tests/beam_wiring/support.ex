# Shared by parent.exs and runner.exs (the same code on both nodes, as a FLAME
# runner runs the parent's image): the work the parent runs on a runner, and a
# little JSON for flamectl's --json output and --mount arguments (Elixir 1.14 has
# no JSON module and this test fetches no deps).

defmodule FlamedWiring.Work do
  @moduledoc false

  # A zero-arity function for remote_spawn_monitor/2: reports what the runner sees.
  def report_fun(to, ref) do
    fn -> send(to, {ref, report()}) end
  end

  def report do
    parent =
      case System.get_env("FLAME_PARENT") do
        nil -> nil
        encoded -> encoded |> Base.decode64!() |> :erlang.binary_to_term()
      end

    %{
      node: node(),
      nodes: Node.list(),
      cookie: Node.get_cookie(),
      hostname_env: System.get_env("HOSTNAME"),
      hostname: :inet.gethostname() |> elem(1) |> to_string(),
      env:
        Map.take(
          System.get_env(),
          ~w(PHX_SERVER RELEASE_COOKIE RELEASE_NODE RELEASE_DISTRIBUTION ERL_AFLAGS)
        ),
      parent: parent,
      otp: :erlang.system_info(:otp_release) |> to_string()
    }
  end

  # For remote_spawn_monitor/2 as {mod, fun, args}.
  def square(to, ref, n), do: send(to, {ref, {n * n, node()}})

  # What FLAME.Runner runs on the runner to shut it down: Terminator.system_shutdown/1.
  def system_shutdown_fun(terminator, to, ref) do
    fn ->
      :ok = GenServer.call(terminator, :system_shutdown)
      send(to, {ref, :ok})
    end
  end
end

defmodule FlamedWiring.JSON do
  @moduledoc false

  def encode(nil), do: "null"
  def encode(true), do: "true"
  def encode(false), do: "false"
  def encode(n) when is_number(n), do: to_string(n)
  def encode(a) when is_atom(a), do: encode(Atom.to_string(a))

  def encode(s) when is_binary(s),
    do: inspect(s, printable_limit: :infinity, binaries: :as_strings)

  def encode(l) when is_list(l), do: "[" <> Enum.map_join(l, ",", &encode/1) <> "]"

  def encode(m) when is_map(m),
    do:
      "{" <>
        Enum.map_join(m, ",", fn {k, v} -> encode(to_string(k)) <> ":" <> encode(v) end) <> "}"

  def decode!(s) do
    {v, rest} = value(skip(s))
    "" = skip(rest)
    v
  end

  defp skip(<<c, rest::binary>>) when c in ~c" \t\r\n", do: skip(rest)
  defp skip(s), do: s

  defp value("{" <> rest), do: object(skip(rest), %{})
  defp value("[" <> rest), do: array(skip(rest), [])
  defp value("\"" <> rest), do: string(rest, [])
  defp value("true" <> rest), do: {true, rest}
  defp value("false" <> rest), do: {false, rest}
  defp value("null" <> rest), do: {nil, rest}

  defp value(s) do
    [num] = Regex.run(~r/^-?\d+(\.\d+)?([eE][-+]?\d+)?/, s)
    rest = binary_part(s, byte_size(num), byte_size(s) - byte_size(num))

    {if(String.contains?(num, [".", "e", "E"]),
       do: String.to_float(num),
       else: String.to_integer(num)
     ), rest}
  end

  defp object("}" <> rest, acc), do: {acc, rest}

  defp object("\"" <> rest, acc) do
    {k, rest} = string(rest, [])
    ":" <> rest = skip(rest)
    {v, rest} = value(skip(rest))
    acc = Map.put(acc, k, v)

    case skip(rest) do
      "," <> rest -> object(skip(rest), acc)
      "}" <> rest -> {acc, rest}
    end
  end

  defp array("]" <> rest, acc), do: {Enum.reverse(acc), rest}

  defp array(s, acc) do
    {v, rest} = value(s)

    case skip(rest) do
      "," <> rest -> array(skip(rest), [v | acc])
      "]" <> rest -> {Enum.reverse([v | acc]), rest}
    end
  end

  defp string("\"" <> rest, acc), do: {IO.iodata_to_binary(Enum.reverse(acc)), rest}

  defp string("\\u" <> <<hex::binary-size(4), rest::binary>>, acc),
    do: string(rest, [<<String.to_integer(hex, 16)::utf8>> | acc])

  defp string("\\" <> <<c, rest::binary>>, acc) do
    ch = %{?n => "\n", ?t => "\t", ?r => "\r", ?b => "\b", ?f => "\f"} |> Map.get(c, <<c>>)
    string(rest, [ch | acc])
  end

  defp string(<<c::utf8, rest::binary>>, acc), do: string(rest, [<<c::utf8>> | acc])
end
