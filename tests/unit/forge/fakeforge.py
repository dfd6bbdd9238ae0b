"""An in-memory forge for unit tests of what drives a forge (the real one is tested in e2e)."""

from __future__ import annotations

from dataclasses import replace

from gitward.forge import Comment, CommitStatus, ForgeNotFound, PullRequest, PullState


class FakeForge:
    kind = "fake"

    def __init__(self, repo: str = "acme/config") -> None:
        self.repo = repo
        self.pulls: dict[int, PullRequest] = {}
        self.comment_list: dict[int, list[Comment]] = {}
        self.status_list: dict[str, list[CommitStatus]] = {}
        self.calls: list[str] = []
        self.closed = False

    async def find_pull(self, *, head: str, base: str) -> PullRequest | None:
        self.calls.append("find_pull")
        return next(
            (
                p
                for p in self.pulls.values()
                if p.head == head and p.base == base and p.state is PullState.OPEN
            ),
            None,
        )

    async def get_pull(self, number: int) -> PullRequest:
        if number not in self.pulls:
            raise ForgeNotFound(f"fake: pull request #{number}: not found")
        return self.pulls[number]

    async def open_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        self.calls.append("open_pull")
        number = len(self.pulls) + 1
        pull = PullRequest(
            number=number,
            title=title,
            body=body,
            head=head,
            base=base,
            head_sha="",
            state=PullState.OPEN,
            url=f"http://forge.invalid/{self.repo}/pulls/{number}",
        )
        self.pulls[number] = pull
        return pull

    async def update_pull(self, *, number: int, title: str, body: str) -> PullRequest:
        self.calls.append("update_pull")
        self.pulls[number] = replace(self.pulls[number], title=title, body=body)
        return self.pulls[number]

    async def merge_pull(self, *, number: int) -> str:
        self.calls.append("merge_pull")
        self.pulls[number] = replace(self.pulls[number], state=PullState.MERGED)
        return "0" * 40

    async def comments(self, number: int) -> tuple[Comment, ...]:
        return tuple(self.comment_list.get(number, []))

    async def create_comment(self, *, number: int, body: str) -> Comment:
        self.calls.append("create_comment")
        comment = Comment(id=sum(map(len, self.comment_list.values())) + 1, body=body)
        self.comment_list.setdefault(number, []).append(comment)
        return comment

    async def edit_comment(self, *, number: int, comment_id: int, body: str) -> Comment:
        self.calls.append("edit_comment")
        listed = self.comment_list[number]
        at = next(i for i, c in enumerate(listed) if c.id == comment_id)
        listed[at] = replace(listed[at], body=body)
        return listed[at]

    async def set_status(self, *, sha: str, status: CommitStatus) -> None:
        self.calls.append(f"set_status {status.context} {status.state.value}")
        self.status_list.setdefault(sha, []).append(status)

    async def statuses(self, sha: str) -> tuple[CommitStatus, ...]:
        latest = {s.context: s for s in self.status_list.get(sha, [])}
        return tuple(latest.values())

    async def aclose(self) -> None:
        self.closed = True
