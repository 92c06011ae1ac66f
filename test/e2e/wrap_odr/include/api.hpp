#pragma once
int api();
