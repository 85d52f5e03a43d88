using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

using Ivshmem.Peer.Guest;
namespace Ivshmem.Peer.Tests;

/// <summary>
/// Proves the VFIO and PCI bindings against the kernel's own headers (linux/vfio.h, linux/pci_regs.h
/// from linux-libc-dev): a C program static_asserts every constant, every struct size and every field
/// offset of Interop, and gcc compiles it. If one is wrong, the compile fails and says which.
/// </summary>
public sealed class KernelHeaderTests
{
    // Newer headers append a pad word to vfio_device_info (24 bytes); the kernel reads only up to
    // num_irqs (argsz tells it how much we pass), so a larger C struct is fine there.
    private static readonly HashSet<string> MayGrow = ["vfio_device_info"];

    private static readonly Type InteropType = typeof(GuestDevice).Assembly.GetType("Ivshmem.Interop", throwOnError: true)!;

    [Fact]
    public void EveryConstantAndStructLayoutMatchesTheKernelHeaders()
    {
        string program = GenerateProgram(out int asserts);
        Assert.True(asserts > 40, $"only {asserts} checks were generated: the reflection found too little");

        using var dir = new TempDirectory();
        string source = dir.Combine("layout.c");
        File.WriteAllText(source, program);
        var (exitCode, output) = Run("gcc", "-std=c11", "-fsyntax-only", "-Wall", "-Werror", source);
        Assert.True(exitCode == 0, $"the bindings disagree with the kernel headers:\n{output}\n--- {source} ---\n{program}");
    }

    [Fact]
    public void TheGeneratedProgramCatchesAWrongValue()
    {
        // The check itself must be able to fail: a deliberately wrong assertion does not compile.
        using var dir = new TempDirectory();
        string source = dir.Combine("wrong.c");
        File.WriteAllText(source, "#include <linux/vfio.h>\n_Static_assert(VFIO_DEVICE_SET_IRQS == 0x3B6F, \"VFIO_DEVICE_SET_IRQS\");\n");
        var (exitCode, output) = Run("gcc", "-std=c11", "-fsyntax-only", source);
        Assert.NotEqual(0, exitCode);
        Assert.Contains("VFIO_DEVICE_SET_IRQS", output);
    }

    internal static string GenerateProgram(out int asserts)
    {
        var c = new StringBuilder();
        c.AppendLine("#include <stddef.h>");
        c.AppendLine("#include <linux/vfio.h>");
        c.AppendLine("#include <linux/pci_regs.h>");
        asserts = 0;
        foreach (FieldInfo field in InteropType.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (!field.IsLiteral || field.FieldType != typeof(int)) continue;
            if (!field.Name.StartsWith("VFIO_", StringComparison.Ordinal) && !field.Name.StartsWith("PCI_", StringComparison.Ordinal)) continue;
            int value = (int)field.GetRawConstantValue()!;
            c.AppendLine($"_Static_assert({field.Name} == {value}, \"{field.Name} is {value} in Interop\");");
            asserts++;
        }
        foreach (Type type in InteropType.GetNestedTypes(BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (!type.Name.StartsWith("vfio_", StringComparison.Ordinal)) continue;
            int size = Marshal.SizeOf(type);
            string op = MayGrow.Contains(type.Name) ? ">=" : "==";
            c.AppendLine($"_Static_assert(sizeof(struct {type.Name}) {op} {size}, \"sizeof(struct {type.Name}) is {size} in Interop\");");
            asserts++;
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public))
            {
                int offset = (int)Marshal.OffsetOf(type, field.Name);
                int fieldSize = Marshal.SizeOf(field.FieldType);
                c.AppendLine($"_Static_assert(offsetof(struct {type.Name}, {field.Name}) == {offset}, \"{type.Name}.{field.Name} is at {offset} in Interop\");");
                c.AppendLine($"_Static_assert(sizeof(((struct {type.Name}*)0)->{field.Name}) == {fieldSize}, \"{type.Name}.{field.Name} has {fieldSize} bytes in Interop\");");
                asserts += 2;
            }
        }
        return c.ToString();
    }

    private static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run {program} ({e.Message}): install gcc and linux-libc-dev (scripts/test does)", e);
        }
        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            string stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result + stderr);
        }
    }
}
