"""Writes a tuning cache that gives every convolution `netc tune --list`
lists its candidate number INDEX (its last, if it has fewer), or, for an
INDEX of `has:TEXT`, its first candidate whose choice contains TEXT (the
rule's if none does).

    pick_candidate.py LIST_OUTPUT INDEX CACHE
"""
import sys

listing, index, cache = sys.argv[1], sys.argv[2], sys.argv[3]
entries = []
key, choices = None, []


def flush():
    if not key:
        return
    if index.startswith("has:"):
        found = [c for c in choices if index[len("has:"):] in c]
        entries.append((key, found[0] if found else choices[0]))
    else:
        entries.append((key, choices[min(int(index), len(choices) - 1)]))


for line in open(listing):
    line = line.strip()
    if line.startswith("key: "):
        flush()
        key, choices = line[len("key: "):], []
    elif key and line[:1].isdigit() and ": " in line:
        choices.append(line.split(": ", 1)[1].replace(" (the rule)", ""))
flush()
with open(cache, "w") as f:
    f.write("# netc tuning cache (written by pick_candidate.py)\n")
    for k, c in entries:
        f.write("%s\t%s\n" % (k, c))
print("%d entries" % len(entries))
