"""nested.yml's shape built in Python: a @pipeline function used as a step of another (a pipeline component)."""

# No `from __future__ import annotations`: dsl.pipeline reads the parameter annotations as objects.
from pathlib import Path

from azure.ai.ml import Input, dsl, load_component
from azure.ai.ml.entities import PipelineJob

COMPONENTS = Path(__file__).parent / "components"


def build(data: Path) -> PipelineJob:
    echo = load_component(COMPONENTS / "echo" / "echo.yaml")
    concat = load_component(COMPONENTS / "concat" / "concat.yaml")

    @dsl.pipeline()
    def twice(text: str, data: Input(type="uri_file"), loud: bool = False):
        say = echo(text=text, times=2, data=data)
        return {"doubled": concat(left=say.outputs.out, right=say.outputs.out).outputs.out}

    @dsl.pipeline()
    def outer(data: Input(type="uri_file"), word: str = "ho"):
        first = twice(text=word, data=data, loud=True)
        return {"final": concat(left=first.outputs.doubled).outputs.out}

    return outer(data=Input(type="uri_file", path=str(data)))
