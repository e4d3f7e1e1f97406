"""A strongSwan charon in its own network and mount namespace, driven by swanctl.

Follows /work/shared/docs/peers.md: kernel-libipsec (no XFRM here), the kdf
plugin, a private tmpfs /run, a private vici socket and STRONGSWAN_CONF.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from swan_netns import Netns

CHARON = "/usr/lib/ipsec/charon"
PLUGINS = (
    "random nonce kdf aes sha1 sha2 hmac pem pkcs1 pkcs8 x509 revocation constraints pubkey gcm"
    " openssl kernel-libipsec kernel-netlink socket-default vici updown"
)


class Charon:
    def __init__(self, ns: Netns, workdir: Path) -> None:
        self.ns, self.dir = ns, workdir
        self.vici = workdir / "charon.vici"
        self.log = workdir / "charon.log"
        self.conf = workdir / "strongswan.conf"
        self.conf.write_text(
            f"""charon {{
  load = {PLUGINS}
  retransmit_timeout = 1.0
  retransmit_tries = 3
  install_routes = yes
  filelog {{
    log {{
      path = {self.log}
      default = 1
      ike = 2
      cfg = 1
      time_format = %T
      flush_line = yes
    }}
  }}
  plugins {{
    kernel-libipsec {{
      load = yes
    }}
    vici {{
      socket = unix://{self.vici}
    }}
  }}
}}
"""
        )
        env = dict(os.environ, STRONGSWAN_CONF=str(self.conf))
        cmd = [
            "ip",
            "netns",
            "exec",
            ns.name,
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mount -t tmpfs tmpfs /run && exec {CHARON}",
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self.vici.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"charon did not start; log:\n{self.log_text()}")
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else "(no log)"

    async def swanctl(self, *args: str, timeout: float = 30) -> str:
        """Run swanctl without blocking the event loop (our daemon must keep answering)."""
        cmd = ["swanctl", *args, "--uri", f"unix://{self.vici}"]
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"swanctl {' '.join(args)} failed: {text}")
        return text

    async def load(self, swanctl_conf: str) -> None:
        path = self.dir / "swanctl.conf"
        path.write_text(swanctl_conf)
        await self.swanctl("--load-all", "--noprompt", "--file", str(path))

    async def list_sas(self) -> str:
        return await self.swanctl("--list-sas")

    async def wait_for(self, pattern: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            out = await self.list_sas()
            if re.search(pattern, out, re.MULTILINE):
                return out
            await asyncio.sleep(0.1)
        log = self.log_text()[-4000:]
        raise AssertionError(f"strongSwan never showed {pattern!r}:\n{out}\nlog:\n{log}")

    async def wait_gone(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            out = await self.list_sas()
            if text not in out:
                return out
            await asyncio.sleep(0.1)
        raise AssertionError(f"strongSwan still shows {text!r}:\n{out}\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
