"""The one function of the baseline app: it is synthesized, never run."""


def handler(event: object, context: object) -> dict[str, int]:
    return {"statusCode": 200}
