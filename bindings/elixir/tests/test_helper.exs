# `mix test` (with the real deps). With plain elixir: tests/run_pure.exs and tests/glue_check.exs.
ExUnit.start()
