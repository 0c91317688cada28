# tests/run_pure.exs - the ExUnit tests of the pure modules (Flamed.Config, Flamed.Env,
# Flamed.NodeBase, Flamed.Request, Flamed.Remote) with plain `elixir`: no mix, no deps.
#
#   cd bindings/elixir && elixir tests/run_pure.exs
#
# `mix test` runs the same files with the real deps.
root = Path.expand("..", __DIR__)

for mod <- ~w(config node_base env request remote),
    do: Code.require_file("lib/flamed/#{mod}.ex", root)

ExUnit.start(autorun: false)
for file <- Path.wildcard(Path.join(root, "tests/pure/*_test.exs")), do: Code.require_file(file)
%{failures: failures} = ExUnit.run()
System.halt(if failures == 0, do: 0, else: 1)
