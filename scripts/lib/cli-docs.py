#!/usr/bin/env python3
"""Man pages and bash completion for the package (scripts/package), made from what the programs
themselves print, so that they cannot drift from the parser:

  cli-docs.py man PROGRAM BINARY SECTION VERSION DATE   roff page from `BINARY --help` (the root page)
                                                        and `BINARY COMMAND --help` for every command it
                                                        lists under COMMANDS (and `BINARY COMMAND SUB
                                                        --help` for those a command lists), one section each
  cli-docs.py md2man MARKDOWN NAME SECTION VERSION DATE SUMMARY
                                                        roff page from a Markdown document (the subset
                                                        docs/ uses: headings, paragraphs, lists, tables,
                                                        fenced code, `code`, **bold**, [links](...))
  cli-docs.py completion PROGRAM BINARY                 a bash completion script: the commands under
                                                        COMMANDS, and for each command the options under
                                                        its OPTIONS (files after FILE/DIR/PATH options)

The --help text is the layout of src/Common/Cli/ManPageWriter.cs: section titles flush left, text
indented 7 columns, tagged paragraphs 14, wrapped at 80 columns.
"""
import os
import re
import subprocess
import sys

INDENT = 7


def run_help(binary, *command):
    # A clean environment (the text must not depend on it), but a framework-dependent build (tests)
    # still finds its runtime.
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("DOTNET_ROOT")})
    out = subprocess.run([binary, *command, "--help"], check=True, capture_output=True, text=True, env=env)
    return out.stdout


def sections(help_text):
    """[(TITLE, [lines])] of a --help text, lines with the 7-column indent removed."""
    result = []
    for line in help_text.splitlines():
        if line and not line[0].isspace():
            result.append((line.strip(), []))
        elif result:
            result[-1][1].append(line[INDENT:] if line.startswith(" " * INDENT) else line.strip())
    for _, lines in result:
        while lines and not lines[-1].strip():
            lines.pop()
    return result


def esc(text):
    """roff-escape one line of text."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    # Not ASCII: groff's own escape, so no input encoding has to be guessed.
    text = "".join(c if ord(c) < 128 else f"\\[u{ord(c):04X}]" for c in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def th(name, section, version, date, title):
    return [f'.TH "{name.upper()}" "{section}" "{date}" "ivshmemd {version}" "{title}"']


def roff_help(help_text, heading=".SH", skip_name=False):
    """The sections of one --help text: each one's text kept as laid out (.nf), as --help prints it."""
    out = []
    for title, lines in sections(help_text):
        if skip_name and title == "NAME":
            continue
        out.append(f'{heading} "{title}"')
        out.append(".nf")
        for line in lines:
            out.append(esc(line) if line.strip() else "")
        out.append(".fi")
    return out


def name_line(help_text):
    """NAME's 'ivshmemd - what it is', as whatis wants it: 'ivshmemd \\- what it is'."""
    for title, lines in sections(help_text):
        if title == "NAME":
            name, _, summary = " ".join(l.strip() for l in lines).partition(" - ")
            return name, summary
    raise SystemExit("no NAME section in --help")


def commands(help_text):
    """The commands under COMMANDS: the tags, at the section's own indentation."""
    for title, lines in sections(help_text):
        if title == "COMMANDS":
            return [l.strip() for l in lines if l and not l[0].isspace()]
    return []


def arguments(help_text):
    """The argument names under ARGUMENTS (e.g. FILE, VM)."""
    for title, lines in sections(help_text):
        if title == "ARGUMENTS":
            return [l.split()[0] for l in lines if l and not l[0].isspace()]
    return []


def options(help_text):
    """[(names, takes_value, value_name)] under OPTIONS."""
    result = []
    for title, lines in sections(help_text):
        if title != "OPTIONS":
            continue
        for line in lines:
            if not line.startswith("-"):
                continue
            parts = [p.strip() for p in line.split(",")]
            last = parts[-1].split(" ", 1)
            value = last[1] if len(last) == 2 else None
            names = parts[:-1] + [last[0]]
            result.append((names, value))
    return result


def man(program, binary, section, version, date):
    root = run_help(binary)
    name, summary = name_line(root)
    out = th(program, section, version, date, "System Administration" if section == "8" else "User Commands")
    out += [".SH NAME", f"{esc(program)} \\- {esc(summary)}"]
    out += roff_help(root, skip_name=True)
    # Commands, and the commands under a command's own COMMANDS ("net status"), one section each.
    pending = [[command] for command in commands(root)]
    while pending:
        path = pending.pop(0)
        text = run_help(binary, *path)
        cmd_name, cmd_summary = name_line(text)
        out.append(f'.SH "{program.upper()} {" ".join(path).upper()}"')
        out.append(f"{esc(cmd_name)} \\- {esc(cmd_summary)}")
        out += roff_help(text, heading=".SS", skip_name=True)
        pending[0:0] = [path + [sub] for sub in commands(text)]
    print("\n".join(out))


def inline(text):
    """Markdown inline markup to roff: `code` and **bold** in bold, [text](link) as text."""
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    parts = re.split(r"(`[^`]+`|\*\*[^*]+\*\*)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append("\\fB" + esc(part[1:-1]) + "\\fR")
        elif part.startswith("**") and part.endswith("**") and len(part) > 3:
            out.append("\\fB" + esc(part[2:-2]) + "\\fR")
        else:
            out.append(esc(part))
    text = "".join(out)
    if text.startswith("\\&"):
        return text
    return "\\&" + text if text.startswith((".", "'")) else text


def md2man(path, name, section, version, date, summary):
    lines = open(path, encoding="utf-8").read().splitlines()
    out = th(name, section, version, date, "File Formats")
    out += [".SH NAME", f"{esc(name)} \\- {esc(summary)}"]
    i = 0
    first_heading = True
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            out += [".PP", ".RS 4", ".nf"]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(esc(lines[i]) if lines[i].strip() else "")
                i += 1
            out += [".fi", ".RE"]
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line.lstrip("#").strip()
            if level == 1:
                out.append(".SH DESCRIPTION" if first_heading else f'.SH "{esc(title.upper())}"')
            elif level == 2:
                out.append(f'.SH "{esc(title.upper())}"')
            else:
                out.append(".SS " + inline(title))
            first_heading = False
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            # A table as tagged paragraphs: the first column is the tag, the others "header: value".
            header, body = rows[0], rows[1:]
            for row in body:
                out += [".TP", inline(row[0])]
                out.append("; ".join(f"{inline(h)}: {inline(c)}" for h, c in zip(header[1:], row[1:]) if c))
        elif re.match(r"^[*-] ", line):
            text = line[2:].strip()
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                text += " " + lines[i].strip()
                i += 1
            out += [".IP \\(bu 2", inline(text)]
        elif not line.strip():
            i += 1
        else:
            text = line.strip()
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "```", "|", "* ", "- ")):
                text += " " + lines[i].strip()
                i += 1
            out += [".PP", inline(text)]
    out += [".SH \"SEE ALSO\"", "\\fBivshmemd\\fR(8)"]
    print("\n".join(out))


def completion(program, binary):
    root = run_help(binary)
    cmds = commands(root)
    func = "_" + re.sub(r"[^A-Za-z0-9_]", "_", program)
    root_opts = sorted({n for names, _ in options(root) for n in names})
    out = [
        f"# bash completion for {program}; generated by scripts/package from `{program} --help`.",
        f"{func}() {{",
        "    local cur prev words cword",
        "    _init_completion || return",
        "    local cmd= i",
        "    for ((i = 1; i < cword; i++)); do",
        '        case ${words[i]} in -*) ;; *) cmd=${words[i]}; break ;; esac',
        "    done",
        '    case $cmd in',
        f'        "") COMPREPLY=($(compgen -W "{" ".join(cmds + root_opts)}" -- "$cur")); return ;;',
    ]
    for command in cmds:
        text = run_help(binary, command)
        opts = options(text)
        # Operands: file names where the argument is a file, nothing to offer otherwise (a VM name).
        operand = "_filedir" if any(re.search(r"FILE|DIR|PATH", a) for a in arguments(text)) else ":"
        names = sorted({n for ns, _ in opts for n in ns})
        file_opts = sorted({n for ns, v in opts if v and re.search(r"FILE|DIR|PATH|SOCKET", v) for n in ns})
        value_opts = sorted({n for ns, v in opts if v for n in ns} - set(file_opts))
        out.append(f"        {command})")
        if file_opts:
            out.append(f'            case $prev in {"|".join(file_opts)}) _filedir; return ;; esac')
        if value_opts:
            out.append(f'            case $prev in {"|".join(value_opts)}) return ;; esac')
        # A command with commands of its own ("net status") offers them where an operand would go.
        subs = commands(text)
        if subs:
            operand = f'COMPREPLY=($(compgen -W "{" ".join(subs)}" -- "$cur"))'
        out.append(f'            if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "{" ".join(names)}" -- "$cur")); else {operand}; fi')
        out.append("            ;;")
    out += ["    esac", "}", f"complete -F {func} {program}"]
    print("\n".join(out))


def main(argv):
    if len(argv) >= 2 and argv[1] == "man" and len(argv) == 7:
        man(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "md2man" and len(argv) == 8:
        md2man(*argv[2:])
    elif len(argv) >= 2 and argv[1] == "completion" and len(argv) == 4:
        completion(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
