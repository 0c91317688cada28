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
  #
  # Online (the default) these come from Hex. Offline, FLAMED_ELIXIR_DEPS names a
  # directory holding the unpacked sources (flame-0.5.3/, grpc-0.9.0/, ...; see
  # offline_deps/1 and the README): every dep, the transitive ones too, becomes a path
  # dep with override: true, so mix never needs Hex.
  defp deps do
    case System.get_env("FLAMED_ELIXIR_DEPS", "") do
      "" ->
        [
          {:flame, "~> 0.5"},
          {:grpc, "~> 0.9.0"},
          {:protobuf, "~> 0.12.0"}
        ]

      dir ->
        offline_deps(dir)
    end
  end

  # The exact set grpc 0.9.0's mix.lock pins, plus FLAME 0.5.3 and jason (optional in
  # both, but FLAME.Parent encodes with it when present). The Erlang packages build with
  # rebar3 (MIX_REBAR3, or `mix local.rebar`); Debian: apt-get install rebar3.
  @offline [
    flame: {"flame-0.5.3", :mix},
    grpc: {"grpc-0.9.0", :mix},
    protobuf: {"protobuf-0.12.0", :mix},
    jason: {"jason-1.4.1", :mix},
    mint: {"mint-1.5.2", :mix},
    hpax: {"hpax-0.1.2", :mix},
    cowboy: {"cowboy-2.11.0", :rebar3},
    cowlib: {"cowlib-2.12.1", :rebar3},
    gun: {"gun-2.0.1", :rebar3},
    ranch: {"ranch-1.8.0", :rebar3},
    telemetry: {"telemetry-1.2.1", :rebar3}
  ]

  @doc false
  def offline_deps(dir) do
    dir = Path.expand(dir)

    for {app, {subdir, manager}} <- @offline do
      path = Path.join(dir, subdir)

      unless File.dir?(path) do
        Mix.raise(
          "FLAMED_ELIXIR_DEPS=#{dir}: #{subdir}/ is missing there; unpack its source " <>
            "(#{subdir}.tar.gz) into #{dir}, or unset FLAMED_ELIXIR_DEPS to use Hex"
        )
      end

      opts = [path: path, override: true]
      {app, if(manager == :rebar3, do: [manager: :rebar3] ++ opts, else: opts)}
    end
  end
end
