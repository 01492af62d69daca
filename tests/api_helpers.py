"""The API under test (the `api` fixture in conftest.py): the app over the test's store through
FastAPI's TestClient, a token per role."""

from tests.helpers import future


class Api:
    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def auth(self, role: str = "admin", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **headers}

    def call(self, method: str, path: str, role: str = "admin", *, key: str | None = None, **kwargs):
        headers = self.auth(role, **({"Idempotency-Key": key} if key else {}))
        return self.client.request(method, path, headers=headers, **kwargs)

    def slot(self, quantity: int = 3, *, days: int = 7, hospital: str = "Seoul Clinic") -> dict:
        answer = self.call(
            "POST",
            "/v1/slots",
            json={"date": future(days), "hospital": hospital, "vaccine": "Janssen", "quantity": quantity},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()
