"""The data_prep step as an Azure ML command component, defined in Python with the SDK's ``command()``.

train and evaluate are defined in YAML beside their scripts; this one shows the Python way. All three run prep.py,
train.py or evaluate.py with the environment described once in ../environment/environment.yaml.
"""

from pathlib import Path

from azure.ai.ml import Input, Output, command, load_environment
from azure.ai.ml.entities import Command, Environment

HERE = Path(__file__).resolve().parent
ENVIRONMENT_SPEC = HERE.parent / "environment" / "environment.yaml"


def data_prep_component() -> Command:
    """Build the component; nothing is sent to Azure until a pipeline using it is submitted."""
    spec = load_environment(ENVIRONMENT_SPEC)
    return command(
        name="data_prep",
        display_name="Prepare data",
        description=(
            "Reads the raw CSV (delimiter and encoding detected unless set), checks the target against the task, "
            "decides what each column is (identifiers, free text and dates are dropped, each with its reason), splits "
            "into train and test parts, and fits the preprocessing (imputation, scaling, category codes) on the train "
            "part only."
        ),
        code=str(HERE),
        command=(
            "python prep.py --input_data ${{inputs.input_data}} --target_column ${{inputs.target_column}}"
            " --task ${{inputs.task}}"
            " $[[--feature_columns ${{inputs.feature_columns}}]] $[[--drop_columns ${{inputs.drop_columns}}]]"
            " --delimiter ${{inputs.delimiter}} --encoding ${{inputs.encoding}} --max_classes ${{inputs.max_classes}}"
            " --test_size ${{inputs.test_size}} --seed ${{inputs.seed}}"
            " --prepped_data ${{outputs.prepped_data}}"
        ),
        inputs={
            "input_data": Input(type="uri_file", description="Raw CSV file with a header row."),
            "target_column": Input(type="string", default="species", description="Column to predict."),
            "task": Input(
                type="string",
                default="classification",
                enum=["classification", "regression", "auto"],
                description="Task; auto infers it from the target and says what it chose.",
            ),
            "feature_columns": Input(
                type="string", optional=True, description="Comma-separated: use only these columns as features."
            ),
            "drop_columns": Input(
                type="string", optional=True, description="Comma-separated: never use these columns as features."
            ),
            "delimiter": Input(
                type="string",
                default="auto",
                enum=["auto", "comma", "semicolon", "tab", "pipe"],
                description="Column delimiter; auto detects it.",
            ),
            "encoding": Input(
                type="string",
                default="auto",
                description="Text encoding, such as utf-8 or cp1252; auto reads UTF-8, else Western European.",
            ),
            "max_classes": Input(
                type="integer",
                default=50,
                min=2,
                max=1000,
                description="A classification target with more distinct values than this stops the run.",
            ),
            "test_size": Input(
                type="number", default=0.2, min=0.05, max=0.5, description="Share of rows kept for evaluation."
            ),
            "seed": Input(type="integer", default=42, description="Random seed of the split."),
        },
        outputs={
            "prepped_data": Output(
                type="uri_folder",
                description="train.csv, test.csv, preprocessor.joblib, schema.json and summary.json.",
            )
        },
        # The steps' one environment, as the YAML components declare it. `mlops register` and `submit` replace it with
        # the registered environment, versioned by content (mlops/assets.py): that is what Azure ML runs.
        environment=Environment(image=spec.image, conda_file=spec.conda_file),
    )
