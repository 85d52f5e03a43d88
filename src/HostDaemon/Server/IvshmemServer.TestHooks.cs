namespace Ivshmem.Daemon.Server;

/// <summary>What only tests ask of the server (internal: the test project sees it through
/// InternalsVisibleTo; the daemon never calls it).</summary>
public sealed partial class IvshmemServer
{
    /// <summary>
    /// Stops as if the process had been killed: nothing is sent, nothing is removed, no socket file is
    /// unlinked; only this process's own fds are closed. For tests of the restart path in-process.
    /// </summary>
    internal async Task AbandonAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0 || _thread is null) return;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Post(() =>
        {
            _regions.CloseAll(unlinkSocket: false);
            _running = false;
            done.SetResult();
        });
        await done.Task.ConfigureAwait(false);
        _thread.Join();
        _loop.Dispose();
    }

    /// <summary>For testing: sets a region's next peer id (the ledger's counter), so the end of the id
    /// space can be reached without 65536 connections.</summary>
    internal Task SetNextPeerIdAsync(string region, long next) => OnLoop(() =>
    {
        _regions[region].Ledger.NextPeerId = next;
        return true;
    });

    /// <summary>For testing: samples the rings now (as the once-a-second timer does) and returns the result.</summary>
    internal Task<RingSnapshot> SampleRingsNowAsync() => OnLoop(() =>
    {
        _sampler.Sample(_regions.All);
        return _sampler.Latest;
    });
}
