# Stand-ins for the parts of FLAME 0.5, grpc 0.9 and protobuf 0.12 that lib/ uses, for
# checks that run with plain `elixir` where hex is unreachable (tests/glue_check.exs, the
# BEAM wiring test). Never loaded by `mix test` with the real deps (not in elixirc_paths,
# not a *_test.exs file).
#
# Each keeps the real library's names, arities and data shapes as its source has them:
#   FLAME.Backend  lib/flame/backend.ex: the five callbacks, handle_info/2 optional
#   FLAME.Parent   lib/flame/parent.ex: the struct, new/5, encode/1 (term_to_binary |>
#                  Base.encode64 of the map of its keys); flame_vsn says "standin"
#   Protobuf       `use Protobuf` + field/oneof: a struct of the fields, a oneof's fields
#                  held under the oneof's name, plus __unknown_fields__
#   GRPC.Service   `use GRPC.Service` + rpc: __rpc_calls__/0
#   GRPC.Stub      `use GRPC.Stub, service: S`: one function per rpc, named
#                  Macro.underscore(rpc), (channel, request, opts \\ []); connect/2 and
#                  disconnect/1 (these say they are stand-ins instead of connecting)
#   :gun           gun 2.0's close/1 (Flamed.Client.disconnect/1 closes a Gun connection)

defmodule FLAME.Backend do
  @callback init(opts :: Keyword.t()) :: {:ok, state :: term()} | {:error, term()}
  @callback remote_spawn_monitor(state :: term, func :: function() | term) ::
              {:ok, {pid, reference()}} | {:error, reason :: term}
  @callback system_shutdown() :: no_return()
  @callback remote_boot(state :: term) ::
              {:ok, remote_terminator_pid :: pid(), new_state :: term} | {:error, term}
  @callback handle_info(msg :: term, state :: term) ::
              {:noreply, new_state :: term} | {:stop, term, new_state :: term}
  @optional_callbacks handle_info: 2
end

defmodule FLAME.Parent do
  defstruct pid: nil,
            ref: nil,
            backend: nil,
            node_base: nil,
            flame_vsn: nil,
            backend_vsn: nil,
            backend_app: nil,
            host_env: nil

  def new(ref, pid, backend, node_base, host_env)
      when is_reference(ref) and is_pid(pid) and is_atom(backend) do
    %__MODULE__{
      pid: pid,
      ref: ref,
      backend: backend,
      node_base: node_base,
      host_env: host_env,
      flame_vsn: "standin",
      backend_app: :flamed,
      backend_vsn: "standin"
    }
  end

  def encode(%__MODULE__{} = parent) do
    parent
    |> Map.from_struct()
    |> Map.take([
      :ref,
      :pid,
      :backend,
      :flame_vsn,
      :backend_app,
      :backend_vsn,
      :node_base,
      :host_env
    ])
    |> :erlang.term_to_binary()
    |> Base.encode64()
  end
end

defmodule Protobuf do
  defmacro __using__(_opts) do
    quote do
      import Protobuf, only: [field: 2, field: 3, oneof: 2]
      Module.register_attribute(__MODULE__, :standin_fields, accumulate: true)
      Module.register_attribute(__MODULE__, :standin_oneofs, accumulate: true)
      @before_compile Protobuf
    end
  end

  defmacro field(name, number, opts \\ []) do
    quote do: @standin_fields({unquote(name), unquote(number), unquote(opts)})
  end

  defmacro oneof(name, index) do
    quote do: @standin_oneofs({unquote(name), unquote(index)})
  end

  defmacro __before_compile__(env) do
    fields = env.module |> Module.get_attribute(:standin_fields) |> Enum.reverse()
    oneofs = env.module |> Module.get_attribute(:standin_oneofs) |> Enum.reverse()

    enum? =
      Enum.any?(fields, fn {_n, _num, opts} -> opts == [] end) and
        Enum.all?(fields, fn {_n, _num, opts} -> opts == [] end)

    if enum? do
      quote do
        def __standin_values__, do: unquote(Macro.escape(for {n, num, _} <- fields, do: {n, num}))
      end
    else
      plain = for {n, _num, opts} <- fields, not Keyword.has_key?(opts, :oneof), do: n
      keys = Enum.map(oneofs, &elem(&1, 0)) ++ plain ++ [:__unknown_fields__]

      quote do
        defstruct unquote(keys)
        def __standin_fields__, do: unquote(Macro.escape(fields))
      end
    end
  end
end

defmodule GRPC.Service do
  defmacro __using__(opts) do
    quote do
      import GRPC.Service, only: [rpc: 3, stream: 1]
      Module.register_attribute(__MODULE__, :standin_rpcs, accumulate: true)
      @before_compile GRPC.Service
      def __meta__(:name), do: unquote(opts[:name])
    end
  end

  defmacro rpc(name, request, reply) do
    quote do: @standin_rpcs({unquote(name), unquote(request), unquote(reply)})
  end

  def stream(mod), do: {:stream, mod}

  defmacro __before_compile__(env) do
    rpcs = env.module |> Module.get_attribute(:standin_rpcs) |> Enum.reverse()
    quote do: def(__rpc_calls__, do: unquote(Macro.escape(rpcs)))
  end
end

defmodule GRPC.Stub do
  defmacro __using__(opts) do
    service = Macro.expand(opts[:service], __CALLER__)

    for {name, _req, _reply} <- service.__rpc_calls__() do
      fun = name |> Atom.to_string() |> Macro.underscore() |> String.to_atom()

      quote do
        def unquote(fun)(channel, request, opts \\ []) do
          raise "stand-in #{inspect(__MODULE__)}.#{unquote(fun)}/3 called with " <>
                  inspect({channel, request, opts})
        end
      end
    end
  end

  def connect(addr, opts \\ []), do: {:error, {:standin, addr, opts}}
  def disconnect(channel), do: {:ok, channel}
end

defmodule :gun do
  def close(conn_pid) when is_pid(conn_pid), do: :ok
end
