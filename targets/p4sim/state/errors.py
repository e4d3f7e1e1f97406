"""The one exception the state layer raises."""


class StateError(ValueError):
    """An entry or configuration that cannot exist in this program's state.

    ``kind`` lets the P4Runtime server map it to a gRPC code without parsing
    the message: "not_found", "already_exists", "invalid", "out_of_range",
    "exhausted".
    """

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind
