"""The mapping editor's forms (issue 10): the object mapping's settings, one attribute mapping,
a target attribute added by hand and a schema document upload. Rules live in
:mod:`provisioning.mappings.validation`; these forms only carry values and show its problems."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from ..choices import ApplyMapping, MappingType, TargetAttributeType
from ..mappings.drafts import AttributeDraft

# validation paths' field names -> form field names
PROBLEM_FIELDS = {
    "targetAttribute": "target_attribute",
    "mappingType": "mapping_type",
    "sourceAttribute": "source_attribute",
    "expression": "expression",
    "constantValue": "constant_value",
    "defaultValue": "default_value",
    "matching": "is_matching",
    "matchingPrecedence": "matching_precedence",
    "apply": "apply_on",
}
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


class MappingSettingsForm(forms.Form):
    use_required_attribute = False

    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    action_create = forms.BooleanField(label=_("Create"), required=False)
    action_update = forms.BooleanField(label=_("Update"), required=False)
    action_delete = forms.BooleanField(label=_("Delete"), required=False)


class AttributeMappingForm(forms.Form):
    use_required_attribute = False

    mapping_type = forms.ChoiceField(
        label=_("Mapping type"), choices=MappingType.choices, widget=forms.RadioSelect
    )
    source_attribute = forms.ChoiceField(label=_("Source attribute"), required=False)
    constant_value = forms.CharField(label=_("Constant Value"), required=False, max_length=1024)
    expression = forms.CharField(
        label=_("Expression"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )
    default_value = forms.CharField(
        label=_("Default value if null (optional)"), required=False, max_length=1024
    )
    target_attribute = forms.ChoiceField(label=_("Target attribute"))
    is_matching = forms.BooleanField(label=_("Match objects using this attribute"), required=False)
    matching_precedence = forms.IntegerField(
        label=_("Matching precedence"), required=False, min_value=1, max_value=99
    )
    apply_on = forms.ChoiceField(
        label=_("Apply this mapping"), choices=ApplyMapping.choices, initial=ApplyMapping.ALWAYS
    )

    def __init__(self, *args, sources: list[str], targets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source_attribute"].choices = [("", "–")] + [(s, s) for s in sources]
        self.fields["target_attribute"].choices = [("", "–")] + [(t, t) for t in targets]

    @classmethod
    def initial_from(cls, row: AttributeDraft) -> dict:
        return {
            "mapping_type": row.mapping_type,
            "source_attribute": row.source_attribute,
            "constant_value": row.constant_value,
            "expression": row.expression,
            "default_value": row.default_value,
            "target_attribute": row.target_attribute,
            "is_matching": row.is_matching,
            "matching_precedence": row.matching_precedence,
            "apply_on": row.apply_on,
        }

    def draft(self) -> AttributeDraft:
        data = self.cleaned_data
        return AttributeDraft(
            target_attribute=data["target_attribute"],
            mapping_type=data["mapping_type"],
            source_attribute=data["source_attribute"],
            expression=data["expression"],
            constant_value=data["constant_value"],
            default_value=data["default_value"],
            is_matching=data["is_matching"],
            matching_precedence=data["matching_precedence"],
            apply_on=data["apply_on"],
        )

    def add_problems(self, problems) -> None:
        for problem in problems:
            field = PROBLEM_FIELDS.get(problem.path.rsplit(".", 1)[-1])
            self.add_error(field if field in self.fields else None, problem.message)


class TargetAttributeForm(forms.Form):
    use_required_attribute = False

    name = forms.CharField(label=_("Name"), max_length=512)
    type = forms.ChoiceField(label=_("Type"), choices=TargetAttributeType.choices)
    required = forms.BooleanField(label=_("Required"), required=False)
    multi_valued = forms.BooleanField(label=_("Multi-valued"), required=False)
    matching_supported = forms.BooleanField(
        label=_("Supported as a matching attribute"), required=False
    )
    description = forms.CharField(label=_("Description"), required=False, max_length=1024)


class SchemaUploadForm(forms.Form):
    document = forms.FileField(
        label=_("Schema document (JSON)"),
        help_text=_("A document downloaded from this page, edited or from another application."),
    )

    def clean_document(self):
        upload = self.cleaned_data["document"]
        if upload.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise forms.ValidationError(_("The file is not a JSON document.")) from None
