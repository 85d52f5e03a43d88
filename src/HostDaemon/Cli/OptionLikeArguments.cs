using System.CommandLine;

namespace Ivshmem.Daemon.Cli;

/// <summary>
/// System.CommandLine hands an unknown option such as "--strict" to a positional argument that is
/// still free (check-config's FILE, the VM of qemu-args), which would turn a typo into "no such file"
/// or "unknown VM" and exit status 1. A value that starts with '-' is treated as the usage error it
/// almost certainly is; a file that really starts with '-' can be given as ./-name.
/// </summary>
internal static class OptionLikeArguments
{
    public static Argument<string> RejectOptionLikeValues(this Argument<string> argument, string remedy)
    {
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                if (token.Value.Length > 1 && token.Value.StartsWith('-'))
                    result.AddError($"unknown option '{token.Value}'; {remedy}");
        });
        return argument;
    }
}
