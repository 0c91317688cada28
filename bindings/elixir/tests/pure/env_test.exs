defmodule Flamed.EnvTest do
  use ExUnit.Case, async: true
  alias Flamed.{Config, Env}

  @config Config.new!([image: "app:latest", network: "appnet"], [])
  @opts [
    parent: "cGFyZW50",
    node_base: "flame-0123456789abcdef0123",
    cookie: :secret,
    distribution: :sname
  ]

  test "a short-name parent gets runners named by ERL_AFLAGS, with FLAME's variables" do
    {:ok, env} = Env.build(@config, @opts)

    assert env == %{
             "FLAME_PARENT" => "cGFyZW50",
             "PHX_SERVER" => "false",
             "RELEASE_COOKIE" => "secret",
             "RELEASE_DISTRIBUTION" => "sname",
             "RELEASE_NODE" => "flame-0123456789abcdef0123",
             "ERL_AFLAGS" => "-sname flame-0123456789abcdef0123 -setcookie secret"
           }
  end

  test "FLAME_PARENT is passed byte for byte" do
    encoded = Base.encode64(:erlang.term_to_binary(%{ref: make_ref(), pid: self()}))
    {:ok, env} = Env.build(@config, Keyword.put(@opts, :parent, encoded))
    assert env["FLAME_PARENT"] == encoded
  end

  test "the parent's ERL_AFLAGS and ERL_ZFLAGS follow, without the flags naming the parent" do
    parent_env = %{
      "ERL_AFLAGS" => "-proto_dist inet6_tcp -sname parent -setcookie other +K true",
      "ERL_ZFLAGS" => "-name parent@10.0.0.1 -kernel inet_dist_listen_min 9100",
      "HOME" => "/root"
    }

    {:ok, env} = Env.build(@config, Keyword.put(@opts, :parent_env, parent_env))

    assert env["ERL_AFLAGS"] ==
             "-sname flame-0123456789abcdef0123 -setcookie secret -proto_dist inet6_tcp +K true"

    assert env["ERL_ZFLAGS"] == "-kernel inet_dist_listen_min 9100"
    refute Map.has_key?(env, "HOME")
  end

  test "ERL_ZFLAGS is left out when nothing remains of it" do
    {:ok, env} =
      Env.build(@config, Keyword.put(@opts, :parent_env, %{"ERL_ZFLAGS" => "-setcookie x"}))

    refute Map.has_key?(env, "ERL_ZFLAGS")
  end

  test "release mode sets the RELEASE_ variables and leaves ERL_AFLAGS to the parent's" do
    config = %{@config | runner_node: :release}
    {:ok, env} = Env.build(config, Keyword.put(@opts, :parent_env, %{"ERL_AFLAGS" => "+K true"}))
    assert env["ERL_AFLAGS"] == "+K true"
    assert env["RELEASE_NODE"] == "flame-0123456789abcdef0123"
    assert env["RELEASE_DISTRIBUTION"] == "sname"
    assert env["RELEASE_COOKIE"] == "secret"

    {:ok, env} = Env.build(config, @opts)
    refute Map.has_key?(env, "ERL_AFLAGS")
  end

  test "a long-name parent gets release mode under :auto, and :erl_aflags is refused" do
    {:ok, env} = Env.build(@config, Keyword.put(@opts, :distribution, :name))
    assert env["RELEASE_DISTRIBUTION"] == "name"
    refute Map.has_key?(env, "ERL_AFLAGS")

    config = %{@config | runner_node: :erl_aflags}
    assert {:error, msg} = Env.build(config, Keyword.put(@opts, :distribution, :name))
    assert msg =~ "needs a parent with short names"
    assert msg =~ "hostname -i"
  end

  test "a parent that is not distributed is refused with the fix" do
    assert {:error, msg} = Env.build(@config, Keyword.put(@opts, :distribution, :none))
    assert msg =~ "start it with --sname"
  end

  test "the configured env wins over the backend's, FLAME_PARENT excepted by Config" do
    config =
      Config.new!([image: "a", network: "n"],
        env: %{"PHX_SERVER" => "true", "ERL_AFLAGS" => "-sname x"}
      )

    {:ok, env} = Env.build(config, @opts)
    assert env["PHX_SERVER"] == "true"
    assert env["ERL_AFLAGS"] == "-sname x"
    assert env["FLAME_PARENT"] == "cGFyZW50"
  end

  test "a cookie ERL_AFLAGS cannot carry is refused in erl_aflags mode only" do
    assert {:error, msg} = Env.build(@config, Keyword.put(@opts, :cookie, :"a b"))
    assert msg =~ "white space or quotes"
    config = %{@config | runner_node: :release}

    assert {:ok, %{"RELEASE_COOKIE" => "a b"}} =
             Env.build(config, Keyword.put(@opts, :cookie, :"a b"))
  end

  test "an invalid node base is refused" do
    assert {:error, msg} = Env.build(@config, Keyword.put(@opts, :node_base, "a@b"))
    assert msg =~ "invalid node base"
  end

  test "distribution/1 reads a node name's mode" do
    assert Env.distribution(:"app@flame-default-1") == :sname
    assert Env.distribution(:"app@10.0.0.2") == :name
    assert Env.distribution(:"app@host.example.com") == :name
    assert Env.distribution(:nonode@nohost) == :none
  end

  test "strip_node_flags/1 drops -name, -sname and -setcookie with their arguments" do
    assert Env.strip_node_flags("") == ""

    assert Env.strip_node_flags("  -sname a  +S 2 -name b@c -setcookie z -env X 1 ") ==
             "+S 2 -env X 1"

    assert Env.strip_node_flags("+K true -setcookie") == "+K true"
  end
end
