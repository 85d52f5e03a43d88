using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Ivshmem.Tests.Common;

/// <summary>
/// Proves interop bindings against the system's own C headers: collects C11 static_asserts (every
/// constant, every struct size, every field offset and size) into a program that gcc compiles with
/// -fsyntax-only. If one binding is wrong, the compile fails and the message says which. Shared by the
/// test projects (linked source), one program per native area.
/// </summary>
internal sealed class KernelHeaderProgram
{
    private readonly StringBuilder _includes = new("#define _GNU_SOURCE\n#include <stddef.h>\n");
    private readonly StringBuilder _asserts = new();

    public int Count { get; private set; }

    public string Source => _includes.ToString() + _asserts;

    /// <summary>The internal <c>Ivshmem.Interop</c> class of the assembly that holds <paramref name="anyType"/>.</summary>
    public static Type InteropOf(Type anyType) => anyType.Assembly.GetType("Ivshmem.Interop", throwOnError: true)!;

    public KernelHeaderProgram Include(params string[] headers)
    {
        foreach (string header in headers) _includes.AppendLine($"#include <{header}>");
        return this;
    }

    /// <summary>Asserts that the C expression <paramref name="expression"/> equals <paramref name="value"/>.</summary>
    public KernelHeaderProgram Equal(string expression, long value, string what)
    {
        _asserts.AppendLine($"_Static_assert(({expression}) == {value}LL, \"{what} is {value} in the bindings\");");
        Count++;
        return this;
    }

    /// <summary>
    /// Asserts every integer constant of <paramref name="interop"/> that <paramref name="cExpression"/>
    /// maps to a C expression (null: not a kernel value, skipped). Returns the names it checked.
    /// </summary>
    public List<string> Constants(Type interop, Func<string, string?> cExpression)
    {
        var checkedNames = new List<string>();
        foreach (FieldInfo field in interop.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (!field.IsLiteral || field.GetRawConstantValue() is not (int or short or uint or long or ushort)) continue;
            if (cExpression(field.Name) is not { } expression) continue;
            Equal(expression, Convert.ToInt64(field.GetRawConstantValue()), field.Name);
            checkedNames.Add(field.Name);
        }
        return checkedNames;
    }

    /// <summary>Asserts the values of named constants of a binding library (e.g. Tmds.Linux.LibC),
    /// whether it declares them as fields or as properties.</summary>
    public KernelHeaderProgram LibraryConstants(Type library, params string[] names)
    {
        foreach (string name in names)
        {
            object? value = library.GetField(name, BindingFlags.Static | BindingFlags.Public)?.GetValue(null)
                ?? library.GetProperty(name, BindingFlags.Static | BindingFlags.Public)?.GetValue(null)
                ?? throw new InvalidOperationException($"{library.FullName} has no constant {name}");
            Equal(name, ToInt64(value), $"{library.Name}.{name}");
        }
        return this;
    }

    /// <summary>An integer constant, also one that a binding library wraps in a struct of one field
    /// (Tmds.LibC's sa_family_t, size_t and the like).</summary>
    private static long ToInt64(object value) => value switch
    {
        IConvertible number => Convert.ToInt64(number),
        _ => value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic) is [FieldInfo only]
            ? ToInt64(only.GetValue(value)!)
            : throw new InvalidOperationException($"{value.GetType()} is not an integer constant"),
    };

    /// <summary>Asserts the size of <paramref name="type"/> and the offset and size of each of its
    /// fields against <c>struct <paramref name="cName"/></c> (<paramref name="mayGrow"/>: newer headers
    /// may append fields, so the C struct may be larger).</summary>
    public KernelHeaderProgram Struct(Type type, string? cName = null, bool mayGrow = false)
    {
        cName ??= type.Name;
        int size = Marshal.SizeOf(type);
        string op = mayGrow ? ">=" : "==";
        _asserts.AppendLine($"_Static_assert(sizeof(struct {cName}) {op} {size}, \"sizeof(struct {cName}) is {size} in the bindings\");");
        Count++;
        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public))
        {
            int offset = (int)Marshal.OffsetOf(type, field.Name);
            int fieldSize = field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
            _asserts.AppendLine($"_Static_assert(offsetof(struct {cName}, {field.Name}) == {offset}, \"{cName}.{field.Name} is at {offset} in the bindings\");");
            _asserts.AppendLine($"_Static_assert(sizeof(((struct {cName}*)0)->{field.Name}) == {fieldSize}, \"{cName}.{field.Name} has {fieldSize} bytes in the bindings\");");
            Count += 2;
        }
        return this;
    }

    /// <summary>Compiles the program; returns gcc's exit code and what it said.</summary>
    public (int ExitCode, string Output) Compile(string directory) => CompileSource(directory, Source);

    public static (int ExitCode, string Output) CompileSource(string directory, string source)
    {
        string file = Path.Combine(directory, $"layout-{Guid.NewGuid():N}.c");
        File.WriteAllText(file, source);
        var start = new ProcessStartInfo("gcc") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "-std=c11", "-fsyntax-only", "-Wall", "-Werror", file }) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run gcc ({e.Message}): install gcc, libc6-dev and linux-libc-dev (scripts/test does)", e);
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
