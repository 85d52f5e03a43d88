namespace Ivshmem.Daemon.Tests.Cli;

/// <summary>Configurations the CLI tests share. Every path is explicit, so results do not depend on
/// $RUNTIME_DIRECTORY in the environment the tests run in.</summary>
internal static class CliTestConfigs
{
    /// <summary>web pairs on two regions, db and cache on one each, bench is a host user.</summary>
    public const string TwoRegions = """
        runtime_directory: /run/ivshmemd
        control_group: ivshmem
        regions:
          - name: web-db
            size: 64M
            vms: [web, db]
            host_users: [bench]
          - name: web-cache
            size: 1G
            backing: hugetlbfs
            vectors: 4
            vms: [web, cache]
            socket: /srv/ivshmem/web cache,v2.sock
        """;

    public const string Invalid = """
        regions:
          - name: web-db
            size: 3M
            vms: [web, db]
            vectors: 0
        """;
}
