"""Collects the tool definitions real MCP servers offer, for measuring tool-description scans.

Why: an MCP server's tool descriptions are text the model reads as instructions on how to use the
tool, written by whoever publishes the server. A scan for injection in them ("tool poisoning") is
only worth enforcing if ordinary descriptions pass it, and ordinary descriptions are full of
imperatives for the model ("Use this tool when…", "Always call X first"). This script starts
public MCP servers from npm and PyPI over stdio with the official `mcp` client, asks each for
`tools/list` and writes one JSON line per tool to bench/.cache/mcp_tools/benign.jsonl.

    pip install mcp-server-fetch mcp-server-git mcp-server-time   # optional, the PyPI servers
    python bench/mcp_tools/collect.py     # installs the npm servers into bench/.cache/mcp_tools/node

Servers that need credentials get dummy values: they list their tools without calling out.
Nothing here runs in CI (it needs npm packages and minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "mcp_tools"
BIN = CACHE / "node" / "node_modules" / ".bin"
NPM_PACKAGES = (
    "@modelcontextprotocol/server-filesystem @modelcontextprotocol/server-memory "
    "@modelcontextprotocol/server-everything @modelcontextprotocol/server-sequential-thinking "
    "@modelcontextprotocol/server-github @modelcontextprotocol/server-slack "
    "@modelcontextprotocol/server-brave-search @modelcontextprotocol/server-google-maps "
    "@modelcontextprotocol/server-redis @modelcontextprotocol/server-gitlab "
    "@modelcontextprotocol/server-puppeteer @playwright/mcp chrome-devtools-mcp @upstash/context7-mcp "
    "@notionhq/notion-mcp-server tavily-mcp firecrawl-mcp @zereight/mcp-gitlab "
    "@circleci/mcp-server-circleci mongodb-mcp-server @azure-devops/mcp next-devtools-mcp "
    "@supabase/mcp-server-supabase"
)
DUMMY_ENV = {
    "GITHUB_PERSONAL_ACCESS_TOKEN": "dummy",
    "SLACK_BOT_TOKEN": "xoxb-dummy",
    "SLACK_TEAM_ID": "T000",
    "BRAVE_API_KEY": "dummy",
    "GOOGLE_MAPS_API_KEY": "dummy",
    "GITLAB_PERSONAL_ACCESS_TOKEN": "dummy",
    "GITLAB_API_URL": "https://gitlab.invalid/api/v4",
    "TAVILY_API_KEY": "dummy",
    "FIRECRAWL_API_KEY": "fc-dummy",
    "CIRCLECI_TOKEN": "dummy",
    "SUPABASE_ACCESS_TOKEN": "sbp_dummy",
    "NOTION_TOKEN": "dummy",
    "PUPPETEER_SKIP_DOWNLOAD": "1",
}


def servers(workdir: str) -> list[tuple[str, str, list[str]]]:
    """(name, command, args) of every server to ask; node servers from the npm cache."""
    node = [
        ("server-filesystem", "mcp-server-filesystem", [workdir]),
        ("server-memory", "mcp-server-memory", []),
        ("server-everything", "mcp-server-everything", []),
        ("server-sequential-thinking", "mcp-server-sequential-thinking", []),
        ("server-github", "mcp-server-github", []),
        ("server-slack", "mcp-server-slack", []),
        ("server-brave-search", "mcp-server-brave-search", []),
        ("server-google-maps", "mcp-server-google-maps", []),
        ("server-redis", "mcp-server-redis", ["redis://127.0.0.1:1"]),
        ("server-gitlab", "mcp-server-gitlab", []),
        ("server-puppeteer", "mcp-server-puppeteer", []),
        ("playwright-mcp", "playwright-mcp", []),
        ("chrome-devtools-mcp", "chrome-devtools-mcp", []),
        ("context7-mcp", "context7-mcp", []),
        ("notion-mcp-server", "notion-mcp-server", []),
        ("tavily-mcp", "tavily-mcp", []),
        ("firecrawl-mcp", "firecrawl-mcp", []),
        ("zereight-mcp-gitlab", "mcp-gitlab", []),
        ("circleci", "mcp-server-circleci", []),
        ("mongodb-mcp-server", "mongodb-mcp-server", []),
        ("azure-devops", "mcp-server-azuredevops", ["contoso"]),
        ("next-devtools-mcp", "next-devtools-mcp", []),
        ("supabase", "mcp-server-supabase", ["--read-only"]),
    ]
    found = [(name, str(BIN / exe), args) for name, exe, args in node if (BIN / exe).exists()]
    py = Path(sys.executable).parent
    for name, exe, args in (
        ("mcp-server-fetch", "mcp-server-fetch", []),
        ("mcp-server-git", "mcp-server-git", ["--repository", workdir]),
        ("mcp-server-time", "mcp-server-time", []),
        ("mcp-server-sqlite", "mcp-server-sqlite", ["--db-path", f"{workdir}/x.db"]),
    ):
        if (py / exe).exists():
            found.append((name, str(py / exe), args))
    return found


async def list_tools(command: str, args: list[str], timeout: float) -> list[dict]:
    params = StdioServerParameters(command=command, args=args, env={**os.environ, **DUMMY_ENV})
    with open(os.devnull, "w") as devnull:
        async with (
            asyncio.timeout(timeout),
            stdio_client(params, errlog=devnull) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.list_tools()
            return [
                {"name": t.name, "description": t.description or "", "input_schema": t.input_schema}
                for t in result.tools
            ]


def install_npm_servers() -> None:
    """npm-installs the node servers once (scripts off, no browser downloads)."""
    if BIN.exists():
        return
    (CACHE / "node").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1", "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    subprocess.run(["npm", "init", "-y"], cwd=CACHE / "node", check=True, capture_output=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *NPM_PACKAGES.split()],
        cwd=CACHE / "node",
        env=env,
        check=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=45.0)
    parser.add_argument("--out", type=Path, default=CACHE / "benign.jsonl")
    opts = parser.parse_args()
    install_npm_servers()
    with tempfile.TemporaryDirectory() as workdir:
        subprocess.run(["git", "init", "-q", workdir], check=True)  # mcp-server-git needs a repository
        rows: list[dict] = []
        for name, command, args in servers(workdir):
            try:
                tools = await list_tools(command, args, opts.timeout)
            except Exception as exc:  # a server that cannot start is reported, not fatal (Ctrl-C still stops)
                print(f"{name:28} failed: {type(exc).__name__}", file=sys.stderr)
                continue
            print(f"{name:28} {len(tools):3} tools", file=sys.stderr)
            rows += [{"server": name, **t} for t in tools]
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} tool definitions from {len({r['server'] for r in rows})} servers -> {opts.out}")


if __name__ == "__main__":
    asyncio.run(main())
