defmodule Flamed.Remote do
  @moduledoc """
  The parent's side of the FLAME handshake and of running work on a runner, over
  Erlang distribution; `Flamed.Backend` uses it and so do the tests. Depends on
  nothing but Elixir.
  """

  @doc """
  Waits until the runner's FLAME Terminator reports `{parent_ref, {:remote_up, pid}}`
  to this process, at most `timeout_ms`.

  With `watch_ref`, a `{:flamed_event, watch_ref, event}` message whose event has
  `ended?: true` (see `Flamed.Request.event/1`) ends the wait early: the runner's
  container exited (or failed) before it connected back. Other messages stay in the
  mailbox.

  Returns `{:ok, terminator_pid}`, `{:error, :timeout}` or
  `{:error, {:runner_ended, event}}`.
  """
  @spec await_up(reference(), non_neg_integer(), reference() | nil) ::
          {:ok, pid()} | {:error, :timeout | {:runner_ended, map()}}
  def await_up(parent_ref, timeout_ms, watch_ref \\ nil) when is_reference(parent_ref) do
    receive do
      {^parent_ref, {:remote_up, pid}} when is_pid(pid) ->
        {:ok, pid}

      {:flamed_event, ^watch_ref, %{ended?: true} = event} when watch_ref != nil ->
        {:error, {:runner_ended, event}}
    after
      timeout_ms -> {:error, :timeout}
    end
  end

  @doc """
  Spawns `term` on `node` and monitors it: a zero-arity function or a
  `{module, function, args}` tuple, as `FLAME.Backend.remote_spawn_monitor/2` takes.
  The function's module must be loaded on the runner (it is, when the runner runs
  the parent's image). Raises `ArgumentError` for anything else.
  """
  @spec spawn_monitor(node(), (() -> any()) | {module(), atom(), list()}) ::
          {:ok, {pid(), reference()}}
  def spawn_monitor(node, term) when is_atom(node) do
    case term do
      func when is_function(func, 0) ->
        {:ok, Node.spawn_monitor(node, func)}

      {mod, fun, args} when is_atom(mod) and is_atom(fun) and is_list(args) ->
        {:ok, Node.spawn_monitor(node, mod, fun, args)}

      other ->
        raise ArgumentError,
              "expected a zero-arity function or {mod, fun, args}, got: #{inspect(other)}"
    end
  end
end
