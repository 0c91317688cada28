defmodule FlameBench.MixProject do
  use Mix.Project

  # bench/flame's parent and runner code: FLAME 0.5.3 with Flamed.Backend (the binding,
  # FLTEST_FLAMED_PATH) and with FLAMEDockerBackend (FLTEST_FDB_PATH: the vendored
  # flame_docker_backend 0.1.0 with @docker_api_version "v1.41"). Built offline
  # (FLAMED_ELIXIR_DEPS, see bindings/elixir/README.md).
  def project do
    [
      app: :flame_bench,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: deps()
    ]
  end

  def application, do: [extra_applications: [:logger, :inets]]

  defp deps do
    dir = System.fetch_env!("FLAMED_ELIXIR_DEPS")

    [
      {:flamed, path: System.fetch_env!("FLTEST_FLAMED_PATH")},
      {:flame_docker_backend, path: System.fetch_env!("FLTEST_FDB_PATH")},
      # flame_docker_backend's own Hex deps, overridden here
      {:flame, path: Path.join(dir, "flame-0.5.3"), override: true},
      {:jason, path: Path.join(dir, "jason-1.4.1"), override: true}
    ]
  end
end
