"""The API's schema is a contract (SPEC §16): code moving between modules must not change it.

`api_schema.yaml` is the schema as served before campaigns/ and uploads/ were reorganised; a
change to the API itself updates it in the same commit, on purpose and reviewed:
`manage.py spectacular --file tests/api_schema.yaml` with the test settings.
"""

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

SNAPSHOT = Path(__file__).with_name("api_schema.yaml")


def test_api_schema_is_the_reviewed_one():
    served = OpenApiYamlRenderer().render(SchemaGenerator().get_schema(request=None, public=True))
    assert yaml.safe_load(served) == yaml.safe_load(SNAPSHOT.read_text())
