# fail2git: record fail2ban bans in the fail2git ledger (a git repository), so every
# host's reconciler enforces them network-wide -- as an in-process Python action.
# Copy to /etc/fail2ban/action.d/fail2git.py, next to fail2git.conf.
#
# It does exactly what the actionban/actionprolong/actionunban lines of fail2git.conf do,
# inside fail2ban-server, without starting `sh` and `sync` for every ban (fail2ban's
# process start is ~3 ms per action per ban; this costs well under 1 ms):
#
#   [DEFAULT]
#   banaction = iptables-allports
#   action = %(action_)s
#            fail2git.py[config=/etc/fail2git/config.yaml]
#   # optional: fail2git=/usr/local/bin/fail2git (the CLI, split into words like a shell
#   # would, never run by one), name=JAIL (the <name> the record carries; default the jail)
#
# It runs inside fail2ban-server's process and on the jail's thread: so it is small,
# stdlib-only (Python 3.9+), never raises for a failure it can recover from, and starts
# processes only with argument lists. Each ban/prolong/unban writes the same 10-line record
# the .conf's line writes (hooks/record.ts reads it) under a hidden temp name in
# stateDir/spool/, fsyncs it, renames it to <32 hex>.f2b and fsyncs the spool directory:
# when ban() returns, the ban is on disk. When the record cannot be written (no spool yet,
# a stateDir that is not a plain absolute path, a full disk), it runs the node hook
# (`fail2git hook ban ...`) instead, as the .conf's line does, and logs one line.
# A resident flusher (`fail2git flush --watch`) is started when none runs. See docs/fail2ban.md.

import os
import re
import shlex
import subprocess

from fail2ban.server.actions import ActionBase

DEFAULT_STATE_DIR = "/var/lib/fail2git"
_LAST_DELIM = re.compile(r"([^: ]*) *:$")


def _read_split(line):
    """`IFS=": " read -r k v` of dash, for one line (without its newline)."""
    i, n = 0, len(line)
    while i < n and line[i] == " ":
        i += 1
    j = i
    while j < n and line[j] not in ": ":
        j += 1
    k = line[i:j]
    while j < n and line[j] == " ":
        j += 1
    if j < n and line[j] == ":":
        j += 1
        while j < n and line[j] == " ":
            j += 1
    v = line[j:].rstrip(" ")
    m = _LAST_DELIM.match(v)
    if m:
        v = m.group(1)
    return k, v


def state_dir(config):
    """stateDir as the .conf's line reads it: the first `stateDir:` line, else the default;
    None when it is not an absolute path (the line then runs the node hook)."""
    s = DEFAULT_STATE_DIR
    try:
        with open(config, "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "surrogateescape")
                if line.endswith("\n"):
                    line = line[:-1]
                k, v = _read_split(line)
                if k == "stateDir":
                    s = v
                    break
    except OSError:
        pass  # the shell line goes on with the default too
    return s if s.startswith("/") else None


def record_text(op, tags):
    """The record, byte for byte as the .conf's line writes it (hooks/record.ts)."""
    return (
        "fail2git-hook 1\nop %s\njail %s\nbantime %s\ntime %s\nrestored %s\n"
        "bancount %s\nfailures %s\nip %s\nend\n"
        % (op, tags["name"], tags["bantime"], tags["time"], tags["restored"],
           tags["bancount"], tags["failures"], tags["ip"])
    ).encode("utf-8", "surrogateescape")


def write_record(spool, data):
    """Writes a record durably (fsync of the file, rename, fsync of the directory); its path."""
    hexname = os.urandom(16).hex()
    tmp = os.path.join(spool, ".%s.f2b.tmp" % hexname)
    path = os.path.join(spool, "%s.f2b" % hexname)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(spool, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dfd)
    except OSError:
        # The record is in place but not known durable: the same answer as the shell's
        # `sync FILE DIR || [ ! -e FILE ]` (a flusher may have delivered it meanwhile).
        if os.path.exists(path):
            raise
    finally:
        os.close(dfd)
    return path


def _pid_alive(path):
    """The .conf's `read -r p t < FILE && [ -d /proc/$p ]`; a zombie counts as gone."""
    try:
        with open(path, "rb") as f:
            first = f.readline().split()
        pid = first[0].decode("ascii") if first else ""
        if not pid.isdigit():
            return False
        with open("/proc/%s/stat" % pid, "rb") as f:
            stat = f.read()
        return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3] not in (b"Z", b"X")
    except (OSError, ValueError, UnicodeDecodeError):
        return False


class Fail2gitAction(ActionBase):
    def __init__(self, jail, name, config="/etc/fail2git/config.yaml", fail2git="/usr/local/bin/fail2git", **kwargs):
        super(Fail2gitAction, self).__init__(jail, name)
        self.config = config
        self.fail2git = shlex.split(fail2git) or ["/usr/local/bin/fail2git"]
        # <name> of the .conf: its `name` option, which fail2ban sets to the jail's name.
        self.tagname = kwargs.get("name", jail.name)
        self.norestored = False  # restored tickets are skipped here (see ban), as in the .conf
        self._children = []
        self._last_warning = None

    # fail2ban reads these of every action (CommandAction has them).
    @property
    def _prolongable(self):
        return True

    banEpoch = 0

    def _warn(self, reason, fmt, *args):
        # One line per new reason, not one per ban of a storm.
        if reason != self._last_warning:
            self._last_warning = reason
            self._logSys.warning(fmt, *args)

    def _hook_cmd(self, *args):
        return self.fail2git + list(args) + ["--config=%s" % self.config]

    def start(self):
        """actionstart: start the resident flusher unless one runs (never bans or unbans)."""
        try:
            r = subprocess.run(self._hook_cmd("hook", "flush"), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            if r.returncode != 0:
                self._logSys.error("fail2git: `hook flush` exited %s at the start of jail %s: %s",
                                   r.returncode, self._jail.name, _last_line(r.stderr or r.stdout))
        except (OSError, subprocess.SubprocessError) as e:
            self._logSys.error("fail2git: cannot run %s at the start of jail %s: %s", self.fail2git[0], self._jail.name, e)

    def stop(self):
        pass

    def flush(self):
        # Stopping fail2ban must NOT lift bans network-wide: fail2ban calls flush() on stop
        # and, only when it fails, unban() for every ticket. The ledger's TTLs govern.
        return True

    def ban(self, aInfo):
        self._record("ban", aInfo)

    def reban(self, aInfo):
        self._record("ban", aInfo)

    def prolong(self, aInfo):
        self._record("prolong", aInfo)

    def unban(self, aInfo):
        self._record("unban", aInfo)

    def _tags(self, aInfo):
        # The values fail2ban substitutes for the .conf's tags: str() of aInfo's (server/action.py).
        return {
            "name": str(self.tagname),
            "ip": str(aInfo["ip"]),
            "bantime": str(aInfo["bantime"]),
            "time": str(aInfo["time"]),
            "restored": str(aInfo["restored"]),
            "bancount": str(aInfo["bancount"]),
            "failures": str(aInfo["failures"]),
        }

    def _record(self, op, aInfo):
        tags = self._tags(aInfo)
        if op != "unban" and tags["restored"] == "1":
            return  # restored from fail2ban's database at start: already in the ledger
        s = state_dir(self.config)
        try:
            if s is None:
                raise ValueError("stateDir in %s is not a plain absolute path" % self.config)
            write_record(os.path.join(s, "spool"), record_text(op, tags))
        except (OSError, ValueError, UnicodeError) as e:
            why = "%s: %s" % (type(e).__name__, e) if not isinstance(e, OSError) else (e.strerror or str(e))
            self._warn("record " + why, "fail2git: cannot write the %s record of %s (%s); running the node hook instead",
                       op, tags["ip"], why)
            self._node_hook(op, tags)
        if s is not None:
            self._ensure_flusher(s)

    def _node_hook(self, op, tags):
        args = ["hook", op, "--jail=%s" % tags["name"], "--ip=%s" % tags["ip"],
                "--bantime=%s" % tags["bantime"], "--time=%s" % tags["time"]]
        if op != "unban":
            args += ["--restored=%s" % tags["restored"], "--bancount=%s" % tags["bancount"],
                     "--failures=%s" % tags["failures"]]
        try:
            r = subprocess.run(self._hook_cmd(*args), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            raise RuntimeError("fail2git: the %s of %s is not recorded: cannot run %s (%s)" % (op, tags["ip"], self.fail2git[0], e))
        if r.returncode != 0:
            raise RuntimeError("fail2git: the %s of %s is not recorded: `fail2git hook %s` exited %s: %s"
                               % (op, tags["ip"], op, r.returncode, _last_line(r.stderr or r.stdout)))

    def _ensure_flusher(self, s):
        # Reap the flushers we started, so a finished one never looks alive.
        self._children = [p for p in self._children if p.poll() is None]
        if _pid_alive(os.path.join(s, "watch.lock")) or _pid_alive(os.path.join(s, "watch.start")):
            return
        try:
            with open(os.path.join(s, "flush.log"), "ab") as log:
                p = subprocess.Popen(self._hook_cmd("flush", "--watch", "--idle-exit=600"),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                     start_new_session=True, close_fds=True)
        except (OSError, subprocess.SubprocessError) as e:
            # The record is safe in the spool: the next ban, `fail2git flush` or a timer delivers it.
            self._warn("flusher %s" % e, "fail2git: cannot start the resident flusher (%s): %s", self.fail2git[0], e)
            return
        self._children.append(p)
        try:
            with open(os.path.join(s, "watch.start"), "w") as f:
                f.write("%d\n" % p.pid)
        except OSError:
            pass


def _last_line(out):
    lines = (out or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "(no output)"


Action = Fail2gitAction
