defmodule FlameE2E.MixProject do
  use Mix.Project

  # The app the end-to-end test (tests/flame_e2e/run) compiles once and bakes into its
  # image: the parent and the runners run the same code, as a FLAME app does. The
  # binding comes from FLTEST_FLAMED_PATH (the test copies this app out of the tree);
  # its deps from FLAMED_ELIXIR_DEPS (the vendored sources, see the binding's README).
  def project do
    [
      app: :flame_e2e,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: [{:flamed, path: System.get_env("FLTEST_FLAMED_PATH", "../../..")}]
    ]
  end

  def application, do: [extra_applications: [:logger]]
end
