from setuptools import find_packages, setup

from tuktuk_management import __version__ as version

with open("requirements.txt") as f:
	install_requires = [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]

setup(
	name="tuktuk_management",
	version=version,
	description="M-Pesa ledger for a tuk-tuk fleet: C2B split, B2C payouts, daily targets, reconciliation",
	author="tuktuk_management developers",
	author_email="dev@example.com",
	packages=find_packages(exclude=["tests", "tests.*"]),
	zip_safe=False,
	include_package_data=True,
	install_requires=install_requires,
	python_requires=">=3.10",
)
