# config-names.awk: the volcano and station names of an r2cache configuration
# file, for the shell completions (bash-completion/r2cache, zsh/_r2cache).
#   awk -f config-names.awk stations.json
# prints "volcano NAME" for every object with a "name" and a "stations" array
# and "station NET.STA.LOC.CHA" for every object with "station" and "channel"
# (the form --station takes). A small JSON tokenizer in POSIX awk (mawk,
# gawk, busybox), so completion needs nothing the package does not depend on;
# a file that is not JSON yields what was read before the damage.
{ buf = buf $0 "\n" }
END {
    n = length(buf); d = 0; i = 1
    while (i <= n) {
        c = substr(buf, i, 1)
        if (c == "\"") {
            s = ""; j = i + 1
            while (j <= n) {
                ch = substr(buf, j, 1)
                if (ch == "\\") { s = s substr(buf, j + 1, 1); j += 2; continue }
                if (ch == "\"") break
                s = s ch; j++
            }
            i = j + 1
            k = i
            while (k <= n && index(" \t\r\n", substr(buf, k, 1)) > 0) k++
            if (substr(buf, k, 1) == ":") { key[d] = s; i = k + 1; continue }
            # a string value of the object at depth d
            if (key[d] == "name") name[d] = s
            else if (key[d] == "network") net[d] = s
            else if (key[d] == "station") sta[d] = s
            else if (key[d] == "location") loc[d] = s
            else if (key[d] == "channel") cha[d] = s
            key[d] = ""
            continue
        }
        if (c == "{") {
            d++; key[d] = ""; name[d] = ""; net[d] = ""; sta[d] = ""; loc[d] = ""; cha[d] = ""
            hasst[d] = 0
        } else if (c == "}") {
            if (hasst[d] && name[d] != "") print "volcano " name[d]
            if (sta[d] != "" && cha[d] != "") print "station " net[d] "." sta[d] "." loc[d] "." cha[d]
            d--
            if (d >= 0) key[d] = ""
        } else if (c == "[") {
            if (key[d] == "stations") hasst[d] = 1
            key[d] = ""
        }
        i++
    }
}
