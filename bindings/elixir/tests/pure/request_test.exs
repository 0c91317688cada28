defmodule Flamed.RequestTest do
  use ExUnit.Case, async: true
  alias Flamed.{Config, Request}

  @config Config.new!([image: "app:latest", network: "appnet"],
            pool: "ffmpeg",
            labels: %{"team" => "media"},
            host_config: %{
              "Memory" => 536_870_912,
              "Init" => true,
              "Dns" => ["10.0.0.1"],
              "X" => nil
            },
            mounts: [%{"Type" => "volume", "Source" => "cache", "Target" => "/cache"}],
            boot_timeout: 20_000,
            pull_policy: :never,
            keep_runner: true,
            cmd: ["bin/app", "start"],
            lease_ttl: 15_000,
            max_lifetime: 3_600_000
          )

  test "boot/3 maps the config onto BootRequest's fields" do
    env = %{"FLAME_PARENT" => "x"}
    req = Request.boot(@config, env, node_base: "flame-1", parent_node: :"parent@web-1")

    assert req.image == "app:latest"
    assert req.network == "appnet"
    assert req.pool == "ffmpeg"
    assert req.env == env
    assert req.cmd == ["bin/app", "start"]
    assert req.entrypoint == []
    assert req.boot_timeout_ms == 20_000
    assert req.keep_runner == true
    assert req.pull_policy == :PULL_POLICY_NEVER
    assert req.user == "" and req.working_dir == ""

    assert req.labels == %{
             "team" => "media",
             "flame.node_base" => "flame-1",
             "flame.parent" => "parent@web-1"
           }
  end

  test "placement is BootRequest.placement's shape, nil when not configured" do
    assert Request.boot(@config, %{}, node_base: "flame-1").placement == nil

    config = %{
      @config
      | placement: %{constraints: ["node.role==worker"], preferences: ["node.labels.az"]}
    }

    assert Request.boot(config, %{}, node_base: "flame-1").placement == %{
             constraints: ["node.role==worker"],
             preferences: [%{spread: "node.labels.az"}]
           }
  end

  test "host_config and mounts become google.protobuf.Struct values" do
    req = Request.boot(@config, %{}, node_base: "flame-1")

    assert req.host_config == %{
             fields: %{
               "Memory" => {:number_value, 536_870_912.0},
               "Init" => {:bool_value, true},
               "Dns" => {:list_value, %{values: [{:string_value, "10.0.0.1"}]}},
               "X" => {:null_value, :NULL_VALUE}
             }
           }

    assert req.mounts == [
             %{
               fields: %{
                 "Type" => {:string_value, "volume"},
                 "Source" => {:string_value, "cache"},
                 "Target" => {:string_value, "/cache"}
               }
             }
           ]

    assert Request.boot(%{@config | host_config: nil}, %{}, node_base: "f").host_config == nil
  end

  test "struct_value/1 nests maps and lists and turns atoms into strings" do
    assert Request.struct_value(%{a: %{b: [1, :two, %{}]}}) == %{
             fields: %{
               "a" =>
                 {:struct_value,
                  %{
                    fields: %{
                      "b" =>
                        {:list_value,
                         %{
                           values: [
                             {:number_value, 1.0},
                             {:string_value, "two"},
                             {:struct_value, %{fields: %{}}}
                           ]
                         }}
                    }
                  }}
             }
           }
  end

  test "pull policies map onto the enum" do
    for {p, e} <- [
          if_not_present: :PULL_POLICY_IF_NOT_PRESENT,
          always: :PULL_POLICY_ALWAYS,
          never: :PULL_POLICY_NEVER
        ] do
      assert Request.boot(%{@config | pull_policy: p}, %{}, node_base: "f").pull_policy == e
    end
  end

  test "shutdown/2 and watch/1" do
    assert Request.shutdown("0123456789abcdef", 5000) == %{
             runner_id: "0123456789abcdef",
             timeout_ms: 5000
           }

    assert Request.watch("0123456789abcdef") == %{
             pool: "",
             runner_id: "0123456789abcdef",
             include_existing: true,
             after_sequence: 0,
             parent_id: ""
           }

    assert Request.watch("r", "parent@web-1").parent_id == "parent@web-1"

    assert_raise FunctionClauseError, fn -> Request.shutdown("x", -1) end
  end

  test "event/1 flattens a WatchResponse and says when the runner has ended" do
    resp = %{
      type: :RUNNER_EVENT_TYPE_EXITED,
      sequence: 12,
      time_unix_nano: 1,
      runner: %{
        id: "r1",
        name: "flame-p-r1",
        ip_address: "",
        state: :RUNNER_STATE_EXITED,
        exit_code: 137,
        oom_killed: true,
        error: ""
      }
    }

    assert Request.event(resp) == %{
             type: :exited,
             sequence: 12,
             runner_id: "r1",
             name: "flame-p-r1",
             ip_address: "",
             state: :exited,
             exit_code: 137,
             oom_killed: true,
             error: "",
             pull: nil,
             ended?: true
           }
  end

  test "event/1: a PULLING event carries the pull's progress and is not an end" do
    ev =
      Request.event(%{
        type: :RUNNER_EVENT_TYPE_PULLING,
        runner: %{id: "r", state: :RUNNER_STATE_BOOTING},
        pull: %{image: "app:1", bytes_done: 5, bytes_total: 10, layers: 2, layers_done: 1}
      })

    assert ev.type == :pulling and ev.state == :booting and not ev.ended?

    assert ev.pull == %{image: "app:1", bytes_done: 5, bytes_total: 10, layers: 2, layers_done: 1}

    assert Request.event(%{type: 8, runner: %{}}).type == :pulling
  end

  test "event/1: started is not an end, an EXISTING runner that already exited is" do
    started =
      Request.event(%{
        type: :RUNNER_EVENT_TYPE_STARTED,
        runner: %{id: "r", state: :RUNNER_STATE_RUNNING}
      })

    assert started.type == :started and started.state == :running and not started.ended?

    existing =
      Request.event(%{
        type: :RUNNER_EVENT_TYPE_EXISTING,
        runner: %{id: "r", state: :RUNNER_STATE_REMOVED}
      })

    assert existing.ended?

    for t <- [:RUNNER_EVENT_TYPE_REMOVED, :RUNNER_EVENT_TYPE_FAILED],
        do: assert(Request.event(%{type: t, runner: nil}).ended?)
  end

  test "event/1 takes enums as numbers too, and unknown ones as :unspecified" do
    ev = Request.event(%{type: 4, runner: %{state: 4}})
    assert ev.type == :exited and ev.state == :exited
    ev = Request.event(%{type: 99, runner: %{state: :NEW_STATE}})
    assert ev.type == :unspecified and ev.state == :unspecified and not ev.ended?
  end

  test "parent_id/1 keeps a node name flamed takes and replaces what it does not" do
    assert Request.parent_id(:"app@web-1") == "app@web-1"
    assert Request.parent_id(:"app@10.0.0.1") == "app@10.0.0.1"
    assert Request.parent_id("a b+é@h") == "a_b__@h"
    assert byte_size(Request.parent_id(String.duplicate("a", 300))) == 256
  end

  test "status_name/1 names gRPC codes" do
    assert Request.status_name(0) == :ok
    assert Request.status_name(5) == :not_found
    assert Request.status_name(9) == :failed_precondition
    assert Request.status_name(14) == :unavailable
    assert Request.status_name(16) == :unauthenticated
    assert Request.status_name(17) == :unknown
  end

  test "logs/2 defaults to the past output, all of it, without timestamps" do
    assert Request.logs("r1") == %{
             runner_id: "r1",
             follow: false,
             tail_lines: 0,
             since_unix_nano: 0,
             timestamps: false
           }
  end

  test "logs/2 maps follow, tail, since and timestamps onto LogsRequest's fields" do
    since = ~U[2026-12-06 01:02:03.456789Z]

    req = Request.logs("r1", follow: true, tail: 10, since: since, timestamps: true)
    assert req.follow and req.timestamps and req.tail_lines == 10
    assert req.since_unix_nano == 1_796_518_923_456_789_000
    assert Request.logs("r1", since: 1_500, tail: :all).since_unix_nano == 1_500
    assert Request.logs("r1", tail: :all).tail_lines == 0
    assert Request.logs("r1", since: nil).since_unix_nano == 0
  end

  test "logs/2 refuses an empty runner id, unknown options and values out of range" do
    assert_raise ArgumentError, ~r/runner_id is empty/, fn -> Request.logs("") end
    assert_raise ArgumentError, ~r/unknown option.*:tial/, fn -> Request.logs("r", tial: 1) end
    assert_raise ArgumentError, ~r/:tail must be/, fn -> Request.logs("r", tail: -1) end

    assert_raise ArgumentError, ~r/:tail must be/, fn ->
      Request.logs("r", tail: 0x1_0000_0000)
    end

    assert_raise ArgumentError, ~r/:since must be/, fn -> Request.logs("r", since: -1) end
    assert_raise ArgumentError, ~r/:since must be/, fn -> Request.logs("r", since: "today") end
    assert_raise ArgumentError, ~r/:follow must be/, fn -> Request.logs("r", follow: 1) end
  end

  test "log_chunk/1 keeps stdout and stderr apart and skips an unknown event" do
    assert Request.log_chunk(%{event: {:stdout, "a\n"}}) == {:stdout, "a\n"}
    assert Request.log_chunk(%{event: {:stderr, <<0, 255>>}}) == {:stderr, <<0, 255>>}
    assert Request.log_chunk(%{event: nil}) == :unknown
    assert Request.log_chunk(%{event: {:new_kind, "x"}}) == :unknown
  end
end
