"""Writes a tuning cache that gives every convolution `netc tune --list`
lists the first candidate other than the rule's whose choice contains
WORD (or the rule's when none does).

    pick_candidate.py LIST_OUTPUT WORD CACHE
"""
import sys

listing, word, cache = sys.argv[1:]
entries = []
key, choices = None, []


def flush():
    if key:
        others = [c for c in choices[1:] if word in c]
        entries.append((key, others[0] if others else choices[0]))


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
