"""A test-only stand-in for the Hugging Face Hub's WRITE API, in front of a real read-only Hub server (olah).

No public Hub is reachable from the tests, so they run `olah` (a real Hub server that serves plain git repositories)
and put this small front before it. The front implements just what `huggingface_hub` calls to write (create a repo,
create a branch, validate a card's metadata, pre-upload, the LFS batch and upload, commit) by committing into olah's git repositories, and
corrects the two answers olah gets wrong for our clients (a repo's info without a revision, and a missing file at a
branch name: olah says 401, the Hub says 404). Every other request goes to olah untouched.

    python tests/hub_front.py --port 18091 --olah http://127.0.0.1:18090 --mirrors DIR
"""

import argparse
import base64
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

LFS_ATTRIBUTES = (
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n*.pt filter=lfs diff=lfs merge=lfs -text\n"
)
LFS_SUFFIXES = (".safetensors", ".bin", ".parquet", ".pt", ".png")


def build_app(olah: str, mirrors: Path) -> Starlette:
    client = httpx.AsyncClient(base_url=olah, timeout=120)

    def repo_dir(repo_type: str, repo_id: str) -> Path:
        return mirrors / f"{repo_type}s" / repo_id

    def git(repo: Path, *args, input: bytes | None = None, env: dict | None = None) -> str:
        result = subprocess.run(
            ["git", *args], cwd=repo, input=input, capture_output=True, check=False, env={**os.environ, **(env or {})}
        )
        if result.returncode:
            raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode()}")
        return result.stdout.decode().strip()

    def resolve(repo: Path, revision: str) -> str | None:
        try:
            return git(repo, "rev-parse", "--verify", "-q", f"{revision}^{{commit}}")
        except RuntimeError:
            return None

    def has_path(repo: Path, commit_id: str, path: str) -> bool:
        return (
            subprocess.run(
                ["git", "cat-file", "-e", f"{commit_id}:{path}"], cwd=repo, capture_output=True, check=False
            ).returncode
            == 0
        )

    def not_found(code: str, message: str) -> Response:
        return JSONResponse(
            {"error": message}, status_code=404, headers={"X-Error-Code": code, "X-Error-Message": message}
        )

    def split_repo_path(path: str) -> tuple[str, str, str]:
        """`[datasets/|spaces/]ORG/NAME/rest` -> (type, ORG/NAME, rest)."""
        parts = path.split("/")
        repo_type = "model"
        if parts[0] in ("datasets", "spaces"):
            repo_type, parts = parts[0][:-1], parts[1:]
        return repo_type, "/".join(parts[:2]), "/".join(parts[2:])

    async def create_repo(request: Request):
        body = await request.json()
        repo_type = body.get("type") or "model"
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        repo = repo_dir(repo_type, repo_id)
        if repo.exists():
            return JSONResponse({"error": "You already created this repo", "url": repo_id}, status_code=409)
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        (repo / ".gitattributes").write_text(LFS_ATTRIBUTES)
        git(repo, "add", ".gitattributes")
        git(repo, "-c", "user.name=hub", "-c", "user.email=hub@localhost", "commit", "-q", "-m", "initial commit")
        return JSONResponse({"url": f"{olah}/{repo_id}", "name": repo_id, "id": repo_id})

    async def create_branch(request: Request):
        repo_type = request.path_params["type"][:-1]
        repo = repo_dir(repo_type, request.path_params["repo"])
        branch = request.path_params["branch"]
        if not repo.exists():
            return not_found("RepoNotFound", "Repository not found")
        if resolve(repo, f"refs/heads/{branch}"):
            return JSONResponse({"error": "Reference already exists"}, status_code=409)
        body = await request.body()
        start = (json.loads(body) if body else {}).get("startingPoint") or "main"
        git(repo, "branch", branch, resolve(repo, start))
        return JSONResponse({})

    async def preupload(request: Request):
        body = await request.json()
        return JSONResponse(
            {
                "files": [
                    {
                        "path": f["path"],
                        "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular",
                        "shouldIgnore": False,
                        "oid": None,
                    }
                    for f in body["files"]
                ]
            }
        )

    async def lfs_batch(request: Request):
        repo_type, repo_id, _ = split_repo_path(request.path_params["path"])
        body = await request.json()
        base = str(request.base_url).rstrip("/")
        objects = []
        for obj in body["objects"]:
            stored = lfs_object(repo_dir(repo_type, repo_id), obj["oid"])
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if not stored.exists():
                entry["actions"] = {"upload": {"href": f"{base}/lfs-upload/{repo_type}/{repo_id}/{obj['oid']}"}}
            objects.append(entry)
        return JSONResponse(
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, media_type="application/vnd.git-lfs+json"
        )

    def lfs_object(repo: Path, oid: str) -> Path:
        return repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid

    async def lfs_upload(request: Request):
        repo = repo_dir(request.path_params["type"], request.path_params["repo"])
        oid = request.path_params["oid"]
        data = await request.body()
        if hashlib.sha256(data).hexdigest() != oid:
            return JSONResponse({"error": "checksum mismatch"}, status_code=400)
        target = lfs_object(repo, oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return Response(status_code=200)

    async def commit(request: Request):
        repo_type = request.path_params["type"][:-1]
        repo = repo_dir(repo_type, request.path_params["repo"])
        revision = request.path_params["revision"]
        if not repo.exists():
            return not_found("RepoNotFound", "Repository not found")
        parent = resolve(repo, f"refs/heads/{revision}")
        if parent is None:
            return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        lines = [json.loads(line) for line in (await request.body()).decode().splitlines() if line.strip()]
        summary = next((l["value"].get("summary") for l in lines if l["key"] == "header"), "commit")
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            git(repo, "read-tree", parent, env=env)
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    content = base64.b64decode(value["content"])
                elif line["key"] == "lfsFile":
                    content = (
                        f"version https://git-lfs.github.com/spec/v1\noid sha256:{value['oid']}\nsize {value['size']}\n"
                    ).encode()
                elif line["key"] in ("deletedFile", "deletedFolder"):
                    git(repo, "rm", "-r", "-q", "--cached", "--ignore-unmatch", value["path"], env=env)
                    continue
                else:
                    continue
                blob = git(repo, "hash-object", "-w", "--stdin", input=content)
                git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{value['path']}", env=env)
            tree = git(repo, "write-tree", env=env)
        new = git(
            repo,
            "-c",
            "user.name=hub",
            "-c",
            "user.email=hub@localhost",
            "commit-tree",
            tree,
            "-p",
            parent,
            "-m",
            summary,
        )
        git(repo, "update-ref", f"refs/heads/{revision}", new, parent)
        if revision == git(repo, "symbolic-ref", "--short", "HEAD"):
            git(repo, "reset", "-q", "--hard", new)  # keep the work tree that olah may read in step
        return JSONResponse(
            {
                "commitUrl": f"{olah}/{request.path_params['repo']}/commit/{new}",
                "commitOid": new,
                "pullRequestUrl": None,
            }
        )

    async def validate_yaml(request: Request):
        """The Hub checks a README's metadata before committing it; here: it must parse as a YAML mapping."""
        import yaml

        content = (await request.json())["content"]
        if content.startswith("---"):
            try:
                metadata = yaml.safe_load(content.split("---", 2)[1])
            except yaml.YAMLError as error:
                return JSONResponse({"error": f"Invalid YAML in README metadata: {error}"}, status_code=400)
            if metadata is not None and not isinstance(metadata, dict):
                return JSONResponse({"error": "README metadata must be a mapping"}, status_code=400)
        return JSONResponse({"warnings": []})

    async def proxy(request: Request):
        path = request.path_params["path"]
        # olah answers 401 for a repo's info without a revision: ask for main, and 404 for a repo that is not there.
        for prefix, repo_type in (("api/models/", "model"), ("api/datasets/", "dataset"), ("api/spaces/", "space")):
            rest = path[len(prefix) :] if path.startswith(prefix) else None
            if rest is not None and rest.count("/") == 1 and request.method == "GET":
                if not repo_dir(repo_type, rest).exists():
                    return not_found("RepoNotFound", "Repository not found")
                path = f"{path}/revision/main"
        # olah answers 401 for a missing folder in a tree listing too.
        for prefix, repo_type in (("api/models/", "model"), ("api/datasets/", "dataset"), ("api/spaces/", "space")):
            parts = path[len(prefix) :].split("/") if path.startswith(prefix) else []
            if len(parts) > 4 and parts[2] == "tree":
                repo = repo_dir(repo_type, "/".join(parts[:2]))
                commit_id = resolve(repo, parts[3]) if repo.exists() else None
                folder = "/".join(parts[4:])
                if commit_id and not has_path(repo, commit_id, folder):
                    return not_found("EntryNotFound", f"{folder} does not exist at {parts[3]}")
        # olah answers 401 for a missing file at a branch name: the Hub's answer is 404 EntryNotFound.
        repo_type, repo_id, rest = split_repo_path(path)
        if rest.startswith("resolve/") and repo_dir(repo_type, repo_id).exists():
            revision, _, filename = rest[len("resolve/") :].partition("/")
            repo = repo_dir(repo_type, repo_id)
            commit_id = resolve(repo, revision)
            if commit_id is None:
                return not_found("RevisionNotFound", f"Invalid rev id: {revision}")
            if not has_path(repo, commit_id, filename):
                return not_found("EntryNotFound", f"{filename} does not exist at {revision}")
        elif rest.startswith("resolve/"):
            return not_found("RepoNotFound", "Repository not found")
        url = httpx.URL(path="/" + path, query=request.url.query.encode())
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        upstream = await client.send(
            client.build_request(request.method, url, headers=headers, content=await request.body()), stream=True
        )
        # Streamed through as olah sends it (weights can be hundreds of MB), headers and encoding untouched.
        drop = {"transfer-encoding", "connection", "date", "server"}
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=upstream.status_code,
            headers={k: v for k, v in upstream.headers.items() if k.lower() not in drop},
            background=BackgroundTask(upstream.aclose),
        )

    async def health(request: Request):
        return JSONResponse({"front": True})

    return Starlette(
        routes=[
            Route("/_front/health", health, methods=["GET"]),
            Route("/api/repos/create", create_repo, methods=["POST"]),
            Route("/api/validate-yaml", validate_yaml, methods=["POST"]),
            Route("/api/{type}/{repo:path}/branch/{branch}", create_branch, methods=["POST"]),
            Route("/api/{type}/{repo:path}/preupload/{revision}", preupload, methods=["POST"]),
            Route("/api/{type}/{repo:path}/commit/{revision}", commit, methods=["POST"]),
            Route("/{path:path}.git/info/lfs/objects/batch", lfs_batch, methods=["POST"]),
            Route("/lfs-upload/{type}/{repo:path}/{oid}", lfs_upload, methods=["PUT", "POST"]),
            Route("/{path:path}", proxy, methods=["GET", "HEAD", "POST"]),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--olah", required=True)
    parser.add_argument("--mirrors", required=True)
    args = parser.parse_args()
    uvicorn.run(build_app(args.olah, Path(args.mirrors)), host="127.0.0.1", port=args.port, log_level="warning")
