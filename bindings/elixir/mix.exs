defmodule Flamed.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :flamed,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      # tests/, not test/: bindings/elixir/test is the script bindings/test runs
      test_paths: ["tests"],
      description: "A FLAME.Backend that boots runners as Docker containers through flamed",
      docs: [main: "readme", extras: ["README.md"]]
    ]
  end

  def application do
    [extra_applications: [:logger, :crypto]]
  end

  # Versions that build on Debian bookworm's Elixir 1.14 / OTP 25:
  #   grpc 0.9.x (0.10 and later need Elixir 1.15); Gun is its default client adapter.
  #   protobuf 0.12.x: the generated stubs in lib/ are protoc-gen-elixir 0.12.0's, and
  #     lib/google/protobuf/struct.pb.ex would clash with protobuf 0.14+, which ships
  #     Google.Protobuf.* itself.
  #   flame 0.5.x declares elixir ~> 1.15 but compiles and runs on 1.14 (mix warns).
  defp deps do
    [
      {:flame, "~> 0.5"},
      {:grpc, "~> 0.9.0"},
      {:protobuf, "~> 0.12.0"}
    ]
  end
end
