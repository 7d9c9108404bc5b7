#!/usr/bin/env bash
# A benign workload of a busy host, bounded (< 60 s) and touching only a temporary directory:
# a C build with make -j2, a package-manager-like unpack into a scratch root, git, a web server
# and client on 127.0.0.1, log rotation, cron-like scheduled jobs, a shell on a pty (`script`)
# and container-like namespaces (`unshare`). The standard rules must stay quiet over it.
set -euo pipefail
W=$(mktemp -d /tmp/lanner-benign.XXXXXX)
cleanup() { kill "${HTTP_PID:-}" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"

# C project, built in parallel.
mkdir -p cproj && cd cproj
for i in 1 2 3 4; do printf 'int f%d(int x){return x*%d;}\n' "$i" "$i" > "f$i.c"; done
printf 'int f1(int);int main(void){return f1(0);}\n' > main.c
printf 'OBJS=main.o f1.o f2.o f3.o f4.o\napp: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O1 -c $<\n' > Makefile
make -s -j2 && ./app
cd "$W"

# Package-manager-like install: unpack an archive into a scratch root and walk it.
mkdir -p pkg/usr/bin pkg/etc root
cp /usr/bin/true pkg/usr/bin/tool && echo conf=1 > pkg/etc/tool.conf
tar -czf pkg.tgz -C pkg . && tar -xzf pkg.tgz -C root
find root -type f -exec sha256sum {} + > root/.manifest

# Package-manager-like verification of installed files: read and checksum a bounded, sorted
# set of headers (thousands of opens, none of them sensitive).
{ find /usr/include -type f -name '*.h' 2>/dev/null | sort | head -n 3000 |
    xargs -r -n 300 sha256sum > pkg-verify.txt; } || true

# Short-lived helper programs, as scripts run them.
for _ in $(seq 100); do /bin/true; done

# git operations.
git init -q repo && cd repo
git -c user.name=b -c user.email=b@example.test commit -q --allow-empty -m init
echo hello > README && git add README
git -c user.name=b -c user.email=b@example.test commit -q -m readme
git log --oneline > /dev/null && git branch -q feature && git checkout -q feature
cd "$W"

# Web server and client on loopback.
mkdir -p www && echo ok > www/index.html
python3 -m http.server 18088 --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:18088/ >/dev/null && break; sleep 0.1; done
for _ in 1 2 3; do curl -fs http://127.0.0.1:18088/index.html >/dev/null; done

# Log rotation of the workload's own log.
mkdir -p log && for i in $(seq 200); do echo "line $i" >> log/app.log; done
for n in 3 2 1; do [ -f "log/app.log.$n" ] && mv "log/app.log.$n" "log/app.log.$((n + 1))"; done
mv log/app.log log/app.log.1 && gzip -f log/app.log.1 && : > log/app.log

# Cron-like scheduled jobs: three runs of a job a second apart.
for _ in 1 2 3; do sh -c 'date +%s >> "$0/log/cron.log"' "$W"; sleep 1; done

# An interactive-looking shell on a pty.
script -q -c 'bash -i -c "ls >/dev/null; echo done"' /dev/null > /dev/null < /dev/null || true

# Container-like namespaces.
unshare --user --map-root-user --pid --fork --mount-proc sh -c 'ps >/dev/null; hostname >/dev/null' || true
unshare --net sh -c 'ip link >/dev/null 2>&1' || true
echo "benign workload done"
