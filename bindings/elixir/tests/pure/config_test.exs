defmodule Flamed.ConfigTest do
  use ExUnit.Case, async: true
  alias Flamed.Config

  @min [image: "app:latest", network: "appnet"]

  defp error(app_env, opts) do
    assert {:error, "Flamed.Backend: " <> message} = Config.new(app_env, opts)
    message
  end

  test "defaults fill every option but image and network" do
    assert {:ok, c} = Config.new(@min, [])
    assert c.image == "app:latest" and c.network == "appnet"
    assert c.addr == "unix:/run/flamed/flamed.sock"
    assert c.pool == "default"
    assert c.boot_timeout == 30_000 and c.shutdown_timeout == 10_000
    assert c.pull_policy == :if_not_present and c.runner_node == :auto
    assert c.env == %{} and c.labels == %{} and c.mounts == [] and c.host_config == nil
    refute c.keep_runner
  end

  test "pool options replace the application's" do
    {:ok, c} = Config.new(@min ++ [pool: "a", boot_timeout: 5000], pool: "b", image: "other:1")
    assert c.pool == "b" and c.image == "other:1" and c.boot_timeout == 5000
  end

  test "env and labels merge key by key, the pool's winning" do
    {:ok, c} =
      Config.new(@min ++ [env: %{"A" => "1", "B" => "2"}, labels: [team: "x"]],
        env: [B: "3", C: 4],
        labels: %{"app" => "y"}
      )

    assert c.env == %{"A" => "1", "B" => "3", "C" => "4"}
    assert c.labels == %{"team" => "x", "app" => "y"}
  end

  test "image and network are required, with a hint" do
    assert error([], network: "n") =~ ":image is required"
    assert error([image: "  "], network: "n") =~ ":image is required"
    assert error([image: "a"], []) =~ ~r/:network is required.*docker network create/
  end

  test "unknown options are named with the valid ones" do
    msg = error(@min, imagee: "x")
    assert msg =~ "unknown option :imagee"
    assert msg =~ ":image, :network"
  end

  test "non-keyword configuration is refused" do
    assert error(%{image: "x"}, []) =~ "config :flame, Flamed.Backend must be a keyword list"
    assert error(@min, [:oops]) =~ "pool's backend options must be a keyword list"
  end

  test "addr takes unix sockets and host:port" do
    for ok <- [
          "unix:/run/f.sock",
          "unix:///run/f.sock",
          "/tmp/f.sock",
          "localhost:7070",
          "10.0.0.1:1"
        ] do
      assert {:ok, %{addr: ^ok}} = Config.new(@min, addr: ok)
    end

    for bad <- ["unix:", "flamed", "http://x:1", "host:port", 7070] do
      assert error(@min, addr: bad) =~ ":addr"
    end
  end

  test "pool names follow flamed's rule" do
    assert {:ok, _} = Config.new(@min, pool: "ffmpeg_1.x-y")
    assert error(@min, pool: "FFmpeg") =~ ":pool must match"
    assert error(@min, pool: "-x") =~ ":pool must match"
    assert error(@min, pool: String.duplicate("a", 41)) =~ "at most 40 bytes"
  end

  test "env names must be variable names and FLAME_PARENT is the backend's" do
    assert error(@min, env: %{"1X" => "a"}) =~ ~s(:env name "1X")
    assert error(@min, env: %{"A-B" => "a"}) =~ "not a valid variable name"
    assert error(@min, env: %{"FLAME_PARENT" => "x"}) =~ "must not set FLAME_PARENT"
    assert error(@min, env: %{"A" => nil}) =~ ":env A must be a string"
    assert error(@min, env: %{"A" => %{}}) =~ ":env A must be"
    assert error(@min, env: "A=1") =~ ":env must be a map or keyword list"

    assert {:ok, %{env: %{"PHX_SERVER" => "true", "N" => "1"}}} =
             Config.new(@min, env: [PHX_SERVER: true, N: 1])
  end

  test "labels under flamed. are refused" do
    assert error(@min, labels: %{"flamed.pool" => "x"}) =~ ~s(key "flamed.pool" is reserved)
    assert error(@min, labels: %{"" => "x"}) =~ "must not be empty"
  end

  test "cmd and entrypoint are lists of strings" do
    assert {:ok, %{cmd: ["bin/app", "start"]}} = Config.new(@min, cmd: ["bin/app", "start"])
    assert error(@min, cmd: "bin/app start") =~ ":cmd must be a list of strings"
    assert error(@min, entrypoint: [:sh]) =~ ":entrypoint must be a list of strings"
  end

  test "host_config is a JSON-like map, keys made strings" do
    {:ok, c} =
      Config.new(@min,
        host_config: %{Memory: 512, CapAdd: [:SYS_PTRACE], LogConfig: %{Type: "none"}}
      )

    assert c.host_config == %{
             "Memory" => 512,
             "CapAdd" => ["SYS_PTRACE"],
             "LogConfig" => %{"Type" => "none"}
           }

    assert error(@min, host_config: [Memory: 1]) =~ ":host_config must be a map"

    assert error(@min, host_config: %{"Memory" => {1, 2}}) =~
             ":host_config.Memory must be a JSON value"

    assert error(@min, host_config: %{"A" => [1, self()]}) =~
             ":host_config.A[1] must be a JSON value"

    assert error(@min, host_config: %{1 => 2}) =~ ":host_config keys must be strings"
  end

  test "mounts are a list of JSON-like maps" do
    m = %{"Type" => "bind", "Source" => "/src", "Target" => "/w", "ReadOnly" => true}
    assert {:ok, %{mounts: [^m]}} = Config.new(@min, mounts: [m])
    assert error(@min, mounts: m) =~ ":mounts must be a list"
    assert error(@min, mounts: [m, "x"]) =~ ":mounts[1] must be a Docker Mount map"
  end

  test "placement takes constraints and spread preferences, nil by default" do
    assert {:ok, %{placement: nil}} = Config.new(@min, [])

    assert {:ok,
            %{placement: %{constraints: ["node.role==worker"], preferences: ["node.labels.az"]}}} =
             Config.new(@min,
               placement: [constraints: ["node.role==worker"], preferences: ["node.labels.az"]]
             )

    assert {:ok, %{placement: %{constraints: [], preferences: ["node.labels.az"]}}} =
             Config.new(@min, placement: %{"preferences" => [%{spread: "node.labels.az"}]})

    assert error(@min, placement: [constraint: ["x==y"]]) =~ ~s|unknown key(s) ["constraint"]|
    assert error(@min, placement: [constraints: "node.role==worker"]) =~ "list of strings"
    assert error(@min, placement: [preferences: [%{spred: "x"}]]) =~ "spread descriptors"
    assert error(@min, placement: "node.role==worker") =~ ":placement must be"
  end

  test "timeouts are positive uint32 milliseconds" do
    assert error(@min, boot_timeout: 0) =~ ":boot_timeout must be a positive integer"
    assert error(@min, boot_timeout: 1.5) =~ ":boot_timeout"
    assert error(@min, shutdown_timeout: 4_294_967_296) =~ "at most 4294967295"
  end

  test "lease_ttl is 0 or at least 100 ms; max_lifetime and spawn_idle_shutdown_after are 0 or more" do
    assert {:ok, %{lease_ttl: 0, max_lifetime: 0, spawn_idle_shutdown_after: 0}} =
             Config.new(@min, [])

    assert {:ok, %{lease_ttl: 100}} = Config.new(@min, lease_ttl: 100)
    assert error(@min, lease_ttl: 99) =~ ":lease_ttl must be 0 (no lease) or at least 100 ms"
    assert {:ok, %{max_lifetime: 86_400_000}} = Config.new(@min, max_lifetime: 86_400_000)
    assert error(@min, max_lifetime: -1) =~ ":max_lifetime must be 0"

    assert error(@min, spawn_idle_shutdown_after: :infinity) =~
             ":spawn_idle_shutdown_after must be 0"
  end

  test "idle_shutdown_after is the deprecated alias of spawn_idle_shutdown_after" do
    assert {:ok, %{spawn_idle_shutdown_after: 5000, deprecated: [:idle_shutdown_after]}} =
             Config.new(@min, idle_shutdown_after: 5000)

    assert {:ok, %{spawn_idle_shutdown_after: 7000, deprecated: []}} =
             Config.new(@min, spawn_idle_shutdown_after: 7000)

    assert error(@min, idle_shutdown_after: 1, spawn_idle_shutdown_after: 2) =~
             "give only :spawn_idle_shutdown_after"

    assert error(@min, idle_shutdown_after: -1) =~ ":spawn_idle_shutdown_after must be 0"
  end

  test "log survives FLAME.Pool's log: false; backend_log wins" do
    # FLAME.Pool 0.5.3 merges log: <pool's, default false> over the backend's options
    assert {:ok, %{log: false}} = Config.new(@min, log: false)
    assert {:ok, %{log: :info}} = Config.new(@min ++ [log: :info], log: false)
    assert {:ok, %{log: :debug}} = Config.new(@min ++ [log: :info], log: :debug)
    assert {:ok, %{log: :info}} = Config.new(@min, backend_log: :info, log: false)
    assert {:ok, %{log: false}} = Config.new(@min, backend_log: false, log: :info)
    assert {:ok, %{log: :warning}} = Config.new(@min ++ [backend_log: :warning], log: false)
    assert error(@min, backend_log: :loud) =~ ":backend_log must be false or a Logger level"
  end

  test "boot_failure_grace is short by default and 0..uint32 ms" do
    assert {:ok, %{boot_failure_grace: 1_000}} = Config.new(@min, [])
    assert {:ok, %{boot_failure_grace: 0}} = Config.new(@min, boot_failure_grace: 0)
    assert error(@min, boot_failure_grace: 4_294_967_296) =~ ":boot_failure_grace must be"
  end

  test "enumerated options name their values" do
    assert error(@min, pull_policy: "always") =~
             ":pull_policy must be one of :if_not_present, :always, :never"

    assert error(@min, runner_node: :sname) =~
             ":runner_node must be one of :auto, :erl_aflags, :release"

    assert error(@min, keep_runner: "yes") =~ ":keep_runner must be true or false"
    assert error(@min, log: :loud) =~ ":log must be false or a Logger level"
    assert error(@min, user: 1000) =~ ":user must be a string"
    assert error(@min, connect_opts: %{}) =~ ":connect_opts must be a keyword list"
  end

  test "terminator_sup (passed by older FLAME versions) is accepted" do
    assert {:ok, _} = Config.new(@min, terminator_sup: SomeSup, log: :debug)
  end

  test "new!/2 raises ArgumentError with the message" do
    assert_raise ArgumentError, ~r/^Flamed.Backend: :image is required/, fn ->
      Config.new!([], [])
    end
  end
end
