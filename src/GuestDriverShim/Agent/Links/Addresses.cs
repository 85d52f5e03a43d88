using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ivshmem.Agent.Links;

/// <summary>
/// Socket addresses as the command line writes them: "tcp:HOST:PORT", "HOST:PORT", ":PORT" or "PORT"
/// (listening only: on 127.0.0.1, see <see cref="ParseListen"/>), "unix:PATH" or an absolute PATH
/// for a UNIX socket. IPv6 hosts go in brackets: "[::1]:80".
/// </summary>
internal static class Addresses
{
    /// <summary>An endpoint to connect to.</summary>
    public static EndPoint ParseConnect(string text) =>
        TryUnix(text) ?? ParseTcp(text.StartsWith("tcp:", StringComparison.Ordinal) ? text[4..] : text, defaultHost: null);

    /// <summary>An endpoint to listen on; a bare port listens on 127.0.0.1 only (forwarding is for
    /// programs on this machine; say 0.0.0.0:PORT to open it to the network).</summary>
    public static EndPoint ParseListen(string text) =>
        TryUnix(text) ?? ParseTcp(text.StartsWith("tcp:", StringComparison.Ordinal) ? text[4..] : text, defaultHost: "127.0.0.1");

    public static EndPoint ParseTcp(string text, string? defaultHost)
    {
        string host;
        string port;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') throw Bad(text);
            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            int colon = text.LastIndexOf(':');
            host = colon < 0 ? "" : text[..colon];
            port = colon < 0 ? text : text[(colon + 1)..];
        }
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535) throw Bad(text);
        if (host.Length == 0)
        {
            if (defaultHost is null) throw Bad(text);
            host = defaultHost;
        }
        if (IPAddress.TryParse(host, out IPAddress? address)) return new IPEndPoint(address, p);
        IPAddress[] found;
        try { found = Dns.GetHostAddresses(host); }
        catch (SocketException e) { throw new ArgumentException($"cannot resolve '{host}': {e.Message}"); }
        IPAddress chosen = found.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? found.FirstOrDefault()
            ?? throw new ArgumentException($"'{host}' has no address");
        return new IPEndPoint(chosen, p);
    }

    private static UnixDomainSocketEndPoint? TryUnix(string text) =>
        text.StartsWith("unix:", StringComparison.Ordinal) ? new UnixDomainSocketEndPoint(text[5..])
        : text.StartsWith('/') ? new UnixDomainSocketEndPoint(text)
        : null;

    private static ArgumentException Bad(string text) =>
        new($"'{text}' is not a socket address; use tcp:HOST:PORT, HOST:PORT, [IPv6]:PORT, :PORT, unix:PATH or /PATH");
}
