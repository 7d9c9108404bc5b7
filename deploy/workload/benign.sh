#!/usr/bin/env bash
# A benign workload of a busy host, bounded (well under 90 s) and touching only a temporary
# directory: a C build with make -j2, a Rust crate built offline with cargo, a package built and
# installed with dpkg into a scratch root, a file walk and many short execs, git, a web server
# and client on 127.0.0.1, log rotation (by hand and with savelog), cron-like scheduled jobs
# (run-parts), an interactive shell session on a pty (`script`), and container-like namespaces
# (`unshare`). Lanner's standard rules must stay quiet over it (runtime/agent/tests/live_rules.rs,
# `benign_workload_raises_no_stdlib_alert`).
set -euo pipefail
# rustup picks the repository's toolchain from the working directory.
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/lanner-benign.XXXXXX)
cleanup() { kill "${HTTP_PID:-}" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
mkdir -p home log

# C project, built in parallel.
mkdir -p cproj && cd cproj
for i in 1 2 3 4; do printf 'int f%d(int x){return x*%d;}\n' "$i" "$i" > "f$i.c"; done
printf 'int f1(int);int main(void){return f1(0);}\n' > main.c
printf 'OBJS=main.o f1.o f2.o f3.o f4.o\napp: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O1 -c $<\n' > Makefile
make -s -j2 && ./app
make -s clean 2>/dev/null || rm -f ./*.o app
cd "$W"

# A Rust crate with no dependencies, built offline with the toolchain's cargo (the one running
# the tests when there is one), in a target directory of its own.
mkdir -p rcrate/src
printf '[package]\nname = "benign"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n' > rcrate/Cargo.toml
printf 'fn main() {\n    let s: u64 = (1..=100).sum();\n    println!("{s}");\n}\n' > rcrate/src/main.rs
(cd "$HERE" && env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTFLAGS -u RUSTC_WRAPPER \
    "${CARGO:-cargo}" build -q --offline --manifest-path "$W/rcrate/Cargo.toml" --target-dir "$W/rtarget")
"$W/rtarget/debug/benign" > /dev/null

# A package manager at work: a .deb built and installed with dpkg into a scratch root, then an
# archive unpacked into another root and checksummed.
mkdir -p debpkg/DEBIAN debpkg/usr/share/lanner-benign droot/var/lib/dpkg/info \
    droot/var/lib/dpkg/updates droot/var/lib/dpkg/triggers
printf 'Package: lanner-benign\nVersion: 1.0\nArchitecture: all\nMaintainer: b <b@example.test>\nDescription: benign workload package\n' > debpkg/DEBIAN/control
echo data > debpkg/usr/share/lanner-benign/data
: > droot/var/lib/dpkg/status
dpkg-deb -b -Zgzip debpkg benign.deb > /dev/null
dpkg --root="$W/droot" --log=/dev/null -i benign.deb > /dev/null
dpkg --root="$W/droot" -l lanner-benign > /dev/null
mkdir -p pkg/usr/bin pkg/etc root
cp /usr/bin/true pkg/usr/bin/tool && echo conf=1 > pkg/etc/tool.conf
tar -czf pkg.tgz -C pkg . && tar -xzf pkg.tgz -C root
find root -type f -exec sha256sum {} + > root/.manifest

# Package-manager-like verification of installed files: read and checksum a bounded, sorted
# set of headers (thousands of opens, none of them sensitive).
{ find /usr/include -type f -name '*.h' 2>/dev/null | sort | head -n 3000 |
    xargs -r -n 300 sha256sum > pkg-verify.txt; } || true
du -s /usr/share/doc > /dev/null 2>&1 || true

# Short-lived helper programs, as scripts run them.
for _ in $(seq 100); do /bin/true; done
ls -la /etc > /dev/null && ps aux > /dev/null && uname -a > /dev/null && id > /dev/null

# git operations.
git init -q repo && cd repo
git -c user.name=b -c user.email=b@example.test commit -q --allow-empty -m init
echo hello > README && git add README
git -c user.name=b -c user.email=b@example.test commit -q -m readme
git log --oneline > /dev/null && git branch -q feature && git checkout -q feature
echo more >> README && git -c user.name=b -c user.email=b@example.test commit -qam more
git checkout -q - && git merge -q --no-edit feature && git status --short > /dev/null
cd "$W" && git clone -q repo clone && git -C clone log --oneline > /dev/null

# Web server and client on loopback.
mkdir -p www && echo ok > www/index.html
python3 -m http.server 18088 --bind 127.0.0.1 --directory www > /dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:18088/ > /dev/null && break; sleep 0.1; done
for _ in 1 2 3; do curl -fs http://127.0.0.1:18088/index.html > /dev/null; done
curl -s -o /dev/null -X POST -d 'a=1' http://127.0.0.1:18088/ || true
kill "$HTTP_PID" && wait "$HTTP_PID" 2>/dev/null || true
HTTP_PID=

# Log rotation of the workload's own logs: by hand, then with savelog.
for i in $(seq 200); do echo "line $i" >> log/app.log; done
for n in 3 2 1; do [ -f "log/app.log.$n" ] && mv "log/app.log.$n" "log/app.log.$((n + 1))"; done
mv log/app.log log/app.log.1 && gzip -f log/app.log.1 && : > log/app.log
for i in $(seq 50); do echo "svc $i" >> log/svc.log; done
savelog -q -c 3 log/svc.log

# Cron-like scheduled jobs: a job directory run by run-parts three times, a second apart.
mkdir -p cron.hourly
printf '#!/bin/sh\ndate +%%s >> "%s/log/cron.log"\n' "$W" > cron.hourly/stamp
chmod +x cron.hourly/stamp
for _ in 1 2 3; do run-parts cron.hourly; sleep 1; done

# An interactive shell session on a pty: commands typed into bash -i, history saved on exit
# (into the workload's directory, not the machine's $HOME).
printf 'cd %s\nls > /dev/null\necho "$PWD" > /dev/null\ngrep -c line log/app.log.1.gz > /dev/null\nexit\n' "$W" \
    | HOME="$W/home" HISTFILE="$W/home/.bash_history" timeout 20 script -q -c 'bash --norc -i' /dev/null > /dev/null

# Container-like namespaces.
unshare --user --map-root-user --pid --fork --mount-proc sh -c 'ps > /dev/null; hostname > /dev/null'
unshare --mount --uts --ipc --net --pid --fork --mount-proc sh -c \
    'hostname benign && mount -t tmpfs benign /mnt && touch /mnt/x && ip link > /dev/null && ps > /dev/null'
echo "benign workload done"
