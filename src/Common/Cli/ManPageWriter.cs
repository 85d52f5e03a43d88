using System.CommandLine;
using System.CommandLine.Help;
using System.Text;

namespace Ivshmem.Cli;

/// <summary>
/// Renders --help in the layout of man(1): NAME, SYNOPSIS, DESCRIPTION, ARGUMENTS, OPTIONS,
/// COMMANDS, EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO; sections flush left, text indented
/// 7 columns, tagged paragraphs 14, wrapped at 80 columns whatever the terminal (the output is the same
/// in a pipe, a test and a terminal).
/// </summary>
internal static class ManPageWriter
{
    private const int Width = 80;
    private const int Indent = 7;
    private const int TagIndent = 14;

    public static void Write(TextWriter output, string commandPath, Command command, ManPage page)
    {
        var text = new StringBuilder();
        Section(text, "NAME");
        Paragraph(text, $"{commandPath} - {page.Summary}", Indent);

        Section(text, "SYNOPSIS");
        foreach (string line in page.Synopsis)
            Paragraph(text, line, Indent, hangingIndent: Indent + 4);

        Section(text, "DESCRIPTION");
        Paragraphs(text, page.Description, Indent);

        var arguments = command.Arguments.Where(a => !a.Hidden).ToList();
        if (arguments.Count > 0)
        {
            Section(text, "ARGUMENTS");
            foreach (var argument in arguments)
                Tagged(text, argument.HelpName ?? argument.Name, WithDefault(argument.Description, argument.HasDefaultValue ? argument.GetDefaultValue() : null));
        }

        var options = AllOptions(command).ToList();
        if (options.Count > 0)
        {
            Section(text, "OPTIONS");
            foreach (var option in options)
                Tagged(text, OptionLabel(option), OptionDescription(option), tagOnOwnLine: true);
        }

        var subcommands = command.Subcommands.Where(c => !c.Hidden).ToList();
        if (subcommands.Count > 0)
        {
            Section(text, "COMMANDS");
            foreach (var subcommand in subcommands)
                Tagged(text, subcommand.Name, subcommand.Description ?? "", tagOnOwnLine: true);
        }

        TaggedSection(text, "EXIT STATUS", page.ExitStatus, tagOnOwnLine: false);
        TaggedSection(text, "ENVIRONMENT", page.Environment, tagOnOwnLine: true);
        TaggedSection(text, "FILES", page.Files, tagOnOwnLine: true);
        TaggedSection(text, "EXAMPLES", page.Examples, tagOnOwnLine: true);
        if (page.SeeAlso.Count > 0)
        {
            Section(text, "SEE ALSO");
            Paragraph(text, string.Join(", ", page.SeeAlso), Indent);
        }
        output.Write(text.ToString());
    }

    /// <summary>The command's own options, then the recursive ones of its parents (--help), in order.</summary>
    private static IEnumerable<Option> AllOptions(Command command)
    {
        var seen = new HashSet<Option>();
        foreach (var option in command.Options.Where(o => !o.Hidden))
            if (seen.Add(option))
                yield return option;
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            foreach (var option in parent.Options.Where(o => o.Recursive && !o.Hidden))
                if (seen.Add(option))
                    yield return option;
    }

    private static string OptionLabel(Option option)
    {
        // System.CommandLine gives --help the DOS-style aliases /? /h and -?; a Linux man page shows -h, --help.
        var names = new[] { option.Name }.Concat(option.Aliases)
            .Where(n => !n.StartsWith('/') && n != "-?")
            .Distinct().OrderBy(n => n.Length).ThenBy(n => n, StringComparer.Ordinal);
        string label = string.Join(", ", names);
        bool takesValue = option.ValueType != typeof(bool) && option.Arity.MaximumNumberOfValues > 0;
        return takesValue ? $"{label} {option.HelpName ?? "VALUE"}" : label;
    }

    private static string OptionDescription(Option option) => option switch
    {
        HelpOption => "Show this help and exit.",
        VersionOption => "Print the version and exit.",
        _ => WithDefault(option.Description, option.HasDefaultValue && option.ValueType != typeof(bool) ? option.GetDefaultValue() : null),
    };

    /// <summary>"The file to read (default: /etc/x)." - the default inside the sentence.</summary>
    private static string WithDefault(string? description, object? defaultValue)
    {
        string text = description ?? "";
        if (defaultValue is null or "")
            return text;
        return text.EndsWith('.') ? $"{text[..^1]} (default: {defaultValue})." : $"{text} (default: {defaultValue})";
    }

    private static void Section(StringBuilder text, string title)
    {
        if (text.Length > 0)
            text.Append('\n');
        text.Append(title).Append('\n');
    }

    private static void TaggedSection(StringBuilder text, string title, IReadOnlyList<ManEntry> entries, bool tagOnOwnLine)
    {
        if (entries.Count == 0)
            return;
        Section(text, title);
        foreach (var entry in entries)
            Tagged(text, entry.Tag, entry.Text, tagOnOwnLine);
    }

    private static void Paragraphs(StringBuilder text, IReadOnlyList<string> paragraphs, int indent)
    {
        for (int i = 0; i < paragraphs.Count; i++)
        {
            if (i > 0)
                text.Append('\n');
            Paragraph(text, paragraphs[i], indent);
        }
    }

    /// <summary>Like man's .TP: the tag at 7; the text at 14, on the tag's line when the tag fits.</summary>
    private static void Tagged(StringBuilder text, string tag, string body, bool tagOnOwnLine = false)
    {
        string[] paragraphs = body.Split("\n\n");
        if (!tagOnOwnLine && Indent + tag.Length < TagIndent)
        {
            string first = new string(' ', Indent) + tag.PadRight(TagIndent - Indent);
            var wrapped = new StringBuilder();
            Paragraph(wrapped, paragraphs[0], TagIndent);
            text.Append(first).Append(wrapped.ToString()[TagIndent..]);
        }
        else
        {
            foreach (string tagLine in tag.Split('\n'))
                text.Append(' ', Indent).Append(tagLine).Append('\n');
            if (paragraphs[0].Length > 0)
                Paragraph(text, paragraphs[0], TagIndent);
        }
        foreach (string paragraph in paragraphs.Skip(1))
            Paragraph(text, paragraph, TagIndent);
    }

    /// <summary>Wraps one paragraph at <see cref="Width"/>; lines starting with a space are kept as they are.</summary>
    private static void Paragraph(StringBuilder text, string paragraph, int indent, int? hangingIndent = null)
    {
        if (paragraph.StartsWith(' '))
        {
            foreach (string line in paragraph.Split('\n'))
                text.Append(' ', indent).Append(line.TrimEnd()).Append('\n');
            return;
        }
        int column = 0;
        int lineIndent = indent;
        foreach (string word in paragraph.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (column > 0 && column + 1 + word.Length > Width)
            {
                text.Append('\n');
                column = 0;
                lineIndent = hangingIndent ?? indent;
            }
            if (column == 0)
            {
                text.Append(' ', lineIndent).Append(word);
                column = lineIndent + word.Length;
            }
            else
            {
                text.Append(' ').Append(word);
                column += 1 + word.Length;
            }
        }
        text.Append('\n');
    }
}
