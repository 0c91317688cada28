# `mix test` (with the real deps). With plain elixir: test/run_pure.exs and test/glue_check.exs.
ExUnit.start()
